package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// mdCell escapes a table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func mdRow(b *strings.Builder, cells ...string) {
	for i := range cells {
		cells[i] = mdCell(cells[i])
	}
	b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
}

func mdHead(b *strings.Builder, cells ...string) {
	mdRow(b, cells...)
	seps := make([]string, len(cells))
	for i := range seps {
		seps[i] = "---"
	}
	b.WriteString("| " + strings.Join(seps, " | ") + " |\n")
}

// Markdown writes the report with the same sections and figures as the
// HTML page; charts become tables.
func (r *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	r.mdSummary(&b)
	r.mdOverview(&b)
	r.mdObjectives(&b)
	r.mdPlan(&b)
	r.mdAnalysis(&b)
	b.WriteString("\n## 6. Methodology\n\n")
	for _, p := range Methodology() {
		b.WriteString(p + "\n\n")
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}

func (r *Report) mdSummary(b *strings.Builder) {
	s := &r.Summary
	fmt.Fprintf(b, "# After-action report: %s\n\n", s.Title)
	b.WriteString("## 1. Executive summary\n\n")
	fmt.Fprintf(b, "- Scenario: %s (%s, variant %s, seed %d)\n", s.Title, s.Scenario, variantName(s.Variant), s.Seed)
	fmt.Fprintf(b, "- Exercised: %s\n- Injects: %s\n", s.Exercised, s.Injects)
	fmt.Fprintf(b, "- Participating agencies: %d:", s.Agencies)
	for i, c := range s.Countries {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(b, " **%s** %s", c.Country, strings.Join(c.Agencies, ", "))
	}
	b.WriteString("\n\n### Objectives and ratings\n\n")
	mdHead(b, "#", "objective", "rating")
	for _, o := range s.Objectives {
		rating := o.Rating + " " + o.RatingText
		if o.Evaluated {
			rating += " (evaluators' rating)"
		}
		mdRow(b, o.ID, o.Objective, rating)
	}
	b.WriteString("\n### Major strengths\n\n")
	if len(s.Strengths) == 0 {
		b.WriteString("None by the rules of the methodology note.\n")
	}
	for _, st := range s.Strengths {
		fmt.Fprintf(b, "- %s\n", st)
	}
	b.WriteString("\n### Most important findings\n\n")
	if len(s.KeyFindings) == 0 {
		b.WriteString("No area for improvement: every audience learned every inject in time, and no stretch of time stood out.\n")
	}
	for i, f := range s.KeyFindings {
		fmt.Fprintf(b, "%d. %s · **%s** %s\n", i+1, priorityText(f.Priority), f.Text, f.Action)
	}
}

func (r *Report) mdOverview(b *strings.Builder) {
	o := &r.Overview
	b.WriteString("\n## 2. Exercise overview\n\n")
	fmt.Fprintf(b, "- Scenario: %s — %s\n- Seed: %d; variant: %s\n", o.Scenario, o.Title, o.Seed, variantName(o.Variant))
	fmt.Fprintf(b, "- Calendar span: %s to %s (%s; %s simulated)\n", o.Start, o.End, o.TimeZone, Human(o.EndSeconds))
	fmt.Fprintf(b, "- Messages: %d sent, %d delivered, %d dropped", o.Messages.Sent, o.Messages.Delivered, o.Messages.Dropped)
	for _, k := range sortedKeys(o.Messages.DroppedBy) {
		fmt.Fprintf(b, " (%s %d)", k, o.Messages.DroppedBy[k])
	}
	b.WriteString("\n\n### Participating agencies\n\n")
	mdHead(b, "id", "name", "country", "kind", "hours", "staff")
	for _, a := range o.Agencies {
		mdRow(b, a.ID, a.Name, a.Country, a.Kind, a.Hours, fmt.Sprint(a.Staff))
	}
	b.WriteString("\n### Channels\n\n")
	mdHead(b, "id", "name", "topology", "relay", "members", "latency")
	for _, c := range o.Channels {
		mdRow(b, c.ID, c.Name, c.Topology, c.Relay, strings.Join(c.Members, ", "), c.Latency)
	}
	if len(r.Live) > 0 {
		b.WriteString("\n### Facilitator's actions\n\n")
		mdHead(b, "time", "action", "item", "detail")
		for _, l := range r.Live {
			mdRow(b, l.At, liveText(l.Action), l.Item, l.Detail)
		}
	}
}

func (r *Report) mdObjectives(b *strings.Builder) {
	b.WriteString("\n## 3. Analysis of objectives\n")
	for _, v := range r.objectiveViews(nil) {
		o := v.O
		fmt.Fprintf(b, "\n### Objective %s: %s — %s\n\n", o.ID, o.Title, o.Rating)
		b.WriteString("#### Expected actions\n\n")
		for _, e := range o.Expected {
			fmt.Fprintf(b, "- **%s**: %s\n", e.Item, e.Text)
		}
		b.WriteString("\n#### What happened\n")
		for _, iv := range v.Items {
			mdItem(b, &iv)
		}
		if len(o.Facilitator) > 0 {
			b.WriteString("\nFacilitator's actions meanwhile:\n\n")
			for _, l := range o.Facilitator {
				fmt.Fprintf(b, "- %s: %s\n", l.At, strings.Join(slices.DeleteFunc([]string{liveText(l.Action), l.Item, l.Detail}, func(s string) bool { return s == "" }), " "))
			}
		}
		b.WriteString("\nPlayer decisions and evaluator notes: ")
		if len(o.Observations) == 0 {
			b.WriteString("none recorded in the event log.\n")
		} else {
			b.WriteString("\n\n")
			for _, ob := range o.Observations {
				fmt.Fprintf(b, "- %s · %s · %s: %s\n", ob.At, ob.Kind, ob.Agency, ob.Text)
			}
		}
		fmt.Fprintf(b, "\n#### Rating\n\n**%s — %s.** %s\n", o.Rating, o.RatingText, ratingLine(o))
		b.WriteString("\n#### Strengths\n\n")
		if len(o.Strengths) == 0 {
			b.WriteString("None by the rules of the methodology note.\n")
		}
		for _, s := range o.Strengths {
			fmt.Fprintf(b, "- %s\n", s.Text)
		}
		b.WriteString("\n#### Areas for improvement\n\n")
		if len(v.Findings) == 0 {
			b.WriteString("None.\n")
		}
		for _, f := range v.Findings {
			fmt.Fprintf(b, "- #%d %s · %s\n", f.Rank, priorityText(f.Priority), f.Text)
		}
	}
	if len(r.Unrated) > 0 {
		b.WriteString("\nThe scenario rates objectives that no inject carries (not applied):")
		for _, u := range r.Unrated {
			fmt.Fprintf(b, " “%s” %s;", u.Objective, u.Rating)
		}
		b.WriteString("\n")
	}
}

func mdItem(b *strings.Builder, iv *itemView) {
	it := iv.It
	fmt.Fprintf(b, "\n##### %s — %s%s\n\n", it.ID, it.Summary, liveMark(it.Live))
	fmt.Fprintf(b, "- Delivered %s to %s (%s, TLP:%s", it.At, it.To, it.Type, it.TLP)
	if it.OriginatorControl {
		fmt.Fprintf(b, ", originator control by %s", it.Originator)
	}
	fmt.Fprintf(b, ")\n- Reach: %d/%d", it.Reached, len(it.Audience))
	if it.ReachedAtDeadline != nil {
		fmt.Fprintf(b, "; %d/%d by the deadline", *it.ReachedAtDeadline, len(it.Audience))
	}
	fmt.Fprintf(b, "\n- Time to reach: %s", optHuman(it.TimeToReachSeconds))
	if it.DeadlineSeconds != nil {
		fmt.Fprintf(b, "; deadline %s: %s", Human(*it.DeadlineSeconds), metText(it.DeadlineMet))
	}
	fmt.Fprintf(b, "\n- Inject rating: %s (%s)\n", it.Rating, it.RatingBasis)
	if l := iv.Last; l != nil {
		fmt.Fprintf(b, "- Last to learn: %s after %s, by %s; slowest link: **%s**\n", l.Agency, Human(l.SinceInject), PathText(l), slowestText(l.Slowest))
	}
	if len(it.NeverLearned) > 0 {
		fmt.Fprintf(b, "- Never learned: %s\n", strings.Join(it.NeverLearned, ", "))
	}
	for _, d := range iv.Drops {
		fmt.Fprintf(b, "- Drops: %s\n", d)
	}
	for _, d := range iv.Replies {
		fmt.Fprintf(b, "- Late answer: %s at %s (deadline %s)\n", d.Agency, d.At, Human(d.DeadlineSeconds))
	}
	b.WriteString("\nReach curve (audience members who know, by time since the inject):\n\n")
	mdHead(b, "after", "reached")
	for _, p := range it.Curve {
		mdRow(b, Human(p.Seconds), fmt.Sprintf("%d/%d", p.Reached, len(it.Audience)))
	}
	b.WriteString("\nWho learned it, when, by which path:\n\n")
	mdHead(b, "agency", "learned", "after", "path", "slowest link")
	for i := range it.Learned {
		l := &it.Learned[i]
		ag := l.Agency
		if !l.InAudience {
			ag += " (not in audience)"
		}
		mdRow(b, ag, l.At, Human(l.SinceInject), PathText(l), slowestText(l.Slowest))
	}
}

func (r *Report) mdPlan(b *strings.Builder) {
	b.WriteString("\n## 4. Improvement plan\n\n")
	if len(r.Findings) == 0 {
		b.WriteString("Nothing to improve by the rules of the methodology note.\n")
		return
	}
	mdHead(b, "#", "objective", "issue (area for improvement)", "recommendation", "responsible agency", "priority")
	for _, f := range r.Findings {
		obj := f.Objective
		if obj == "" {
			obj = "General"
		}
		mdRow(b, fmt.Sprint(f.Rank), obj, f.Text, f.Action, strings.Join(f.Responsible, ", "), priorityText(f.Priority))
	}
}

func (r *Report) mdAnalysis(b *strings.Builder) {
	b.WriteString("\n## 5. Supporting analysis\n\n### 5.1 Timeline: who knew what when\n\n")
	mdHead(b, "time", "item", "agency", "after inject")
	for _, l := range r.Timeline {
		mdRow(b, l.At, l.Item, l.Agency, Human(l.SinceInject))
	}

	b.WriteString("\n### 5.2 Channels\n\n")
	b.WriteString("Transit is the channel's latency alone; messages that waited for the channel to come back from an outage are counted apart, with their total wait.\n\n")
	mdHead(b, "channel", "topology", "messages", "delivered", "transit mean", "p50", "p95", "max", "outage waits", "waited")
	for _, c := range r.Channels {
		mdRow(b, c.ID, c.Topology, fmt.Sprint(c.Messages), fmt.Sprint(c.Delivered), Human(c.LatencyMeanSeconds),
			Human(c.LatencyP50Seconds), Human(c.LatencyP95Seconds), Human(c.LatencyMaxSeconds),
			fmt.Sprint(c.OutageWaits), Human(c.OutageWaitSeconds))
	}

	b.WriteString("\n### 5.3 Agencies: queues, office hours and consent\n\n")
	mdHead(b, "agency", "hours", "staff", "handled", "max queue", "unfinished", "mean wait", "held", "hold time", "queue time",
		"consent asked", "consent wait", "granted/refused")
	for _, a := range r.Agencies {
		mdRow(b, a.ID, a.Hours, fmt.Sprint(a.Staff), fmt.Sprint(a.Handled), fmt.Sprint(a.MaxQueue), fmt.Sprint(a.Unfinished), Human(a.MeanWaitSeconds),
			fmt.Sprint(a.Held), Human(a.HoldSeconds), Human(a.QueueSeconds), fmt.Sprint(a.ConsentRequests),
			Human(a.ConsentWaitSeconds), fmt.Sprintf("%d/%d", a.ConsentGranted, a.ConsentRefused))
	}

	b.WriteString("\n### 5.4 Deadlines missed and drops\n\n")
	if len(r.Deadlines) == 0 {
		b.WriteString("No deadline was missed.\n")
	} else {
		mdHead(b, "time", "item", "who", "deadline", "reached by then")
		for _, d := range r.Deadlines {
			who, reached := "audience", fmt.Sprintf("%d/%d", d.Reached, d.Audience)
			if d.Agency != "" {
				who, reached = d.Agency+" (reply)", fmt.Sprint(d.Reached)
			}
			mdRow(b, d.At, d.Item, who, Human(d.DeadlineSeconds), reached)
		}
	}
	b.WriteString("\n")
	if len(r.Drops) == 0 {
		b.WriteString("No message was dropped.\n")
	} else {
		mdHead(b, "time", "at", "to", "item", "type", "reason")
		for _, d := range r.Drops {
			mdRow(b, d.At, d.Agency, d.To, d.Item, d.Type, d.Reason)
		}
	}
}
