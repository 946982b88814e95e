package report

import (
	"fmt"
	"io"
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
	o := &r.Overview
	fmt.Fprintf(&b, "# After-action report: %s\n\n", o.Title)
	fmt.Fprintf(&b, "## 1. Exercise overview\n\n")
	fmt.Fprintf(&b, "- Scenario: %s — %s\n- Seed: %d; variant: %s\n", o.Scenario, o.Title, o.Seed, variantName(o.Variant))
	fmt.Fprintf(&b, "- Calendar span: %s to %s (%s; %s simulated)\n", o.Start, o.End, o.TimeZone, Human(o.EndSeconds))
	fmt.Fprintf(&b, "- Messages: %d sent, %d delivered, %d dropped", o.Messages.Sent, o.Messages.Delivered, o.Messages.Dropped)
	for _, k := range sortedKeys(o.Messages.DroppedBy) {
		fmt.Fprintf(&b, " (%s %d)", k, o.Messages.DroppedBy[k])
	}
	b.WriteString("\n\n### Participating agencies\n\n")
	mdHead(&b, "id", "name", "country", "kind", "hours", "staff")
	for _, a := range o.Agencies {
		mdRow(&b, a.ID, a.Name, a.Country, a.Kind, a.Hours, fmt.Sprint(a.Staff))
	}
	b.WriteString("\n### Channels\n\n")
	mdHead(&b, "id", "name", "topology", "relay", "members", "latency")
	for _, c := range o.Channels {
		mdRow(&b, c.ID, c.Name, c.Topology, c.Relay, strings.Join(c.Members, ", "), c.Latency)
	}

	if len(r.Live) > 0 {
		b.WriteString("\n### Facilitator's actions\n\n")
		mdHead(&b, "time", "action", "item")
		for _, l := range r.Live {
			mdRow(&b, l.At, liveText(l.Action), l.Item)
		}
	}

	b.WriteString("\n## 2. Injects: reach and paths\n")
	for _, it := range r.Items {
		fmt.Fprintf(&b, "\n### %s — %s%s\n\n", it.ID, it.Summary, liveMark(it.Live))
		fmt.Fprintf(&b, "- Delivered %s to %s (%s, TLP:%s", it.At, it.To, it.Type, it.TLP)
		if it.OriginatorControl {
			fmt.Fprintf(&b, ", originator control by %s", it.Originator)
		}
		fmt.Fprintf(&b, ")\n- Reach: %d/%d", it.Reached, len(it.Audience))
		if it.ReachedAtDeadline != nil {
			fmt.Fprintf(&b, "; %d/%d by the deadline", *it.ReachedAtDeadline, len(it.Audience))
		}
		fmt.Fprintf(&b, "\n- Time to reach: %s", optHuman(it.TimeToReachSeconds))
		if it.DeadlineSeconds != nil {
			fmt.Fprintf(&b, "; deadline %s: %s", Human(*it.DeadlineSeconds), metText(it.DeadlineMet))
		}
		b.WriteString("\n")
		if it.Critical != "" {
			fmt.Fprintf(&b, "- Last to learn: %s; slowest link on its path: **%s**\n", it.Critical, slowestText(it.Slowest))
		}
		if len(it.NeverLearned) > 0 {
			fmt.Fprintf(&b, "- Never learned: %s\n", strings.Join(it.NeverLearned, ", "))
		}
		b.WriteString("\nReach curve (audience members who know, by time since the inject):\n\n")
		mdHead(&b, "after", "reached")
		for _, p := range it.Curve {
			mdRow(&b, Human(p.Seconds), fmt.Sprintf("%d/%d", p.Reached, len(it.Audience)))
		}
		b.WriteString("\nWho learned it, when, by which path:\n\n")
		mdHead(&b, "agency", "learned", "after", "path", "slowest link")
		for i := range it.Learned {
			l := &it.Learned[i]
			ag := l.Agency
			if !l.InAudience {
				ag += " (not in audience)"
			}
			mdRow(&b, ag, l.At, Human(l.SinceInject), PathText(l), slowestText(l.Slowest))
		}
	}

	b.WriteString("\n## 3. Timeline: who knew what when\n\n")
	mdHead(&b, "time", "item", "agency", "after inject")
	for _, l := range r.Timeline {
		mdRow(&b, l.At, l.Item, l.Agency, Human(l.SinceInject))
	}

	b.WriteString("\n## 4. Channels\n\n")
	mdHead(&b, "channel", "topology", "messages", "delivered", "mean", "p50", "p95", "max")
	for _, c := range r.Channels {
		mdRow(&b, c.ID, c.Topology, fmt.Sprint(c.Messages), fmt.Sprint(c.Delivered), Human(c.LatencyMeanSeconds),
			Human(c.LatencyP50Seconds), Human(c.LatencyP95Seconds), Human(c.LatencyMaxSeconds))
	}

	b.WriteString("\n## 5. Agencies: queues, office hours and consent\n\n")
	mdHead(&b, "agency", "hours", "staff", "handled", "max queue", "mean wait", "held", "hold time", "queue time",
		"consent asked", "consent wait", "granted/refused")
	for _, a := range r.Agencies {
		mdRow(&b, a.ID, a.Hours, fmt.Sprint(a.Staff), fmt.Sprint(a.Handled), fmt.Sprint(a.MaxQueue), Human(a.MeanWaitSeconds),
			fmt.Sprint(a.Held), Human(a.HoldSeconds), Human(a.QueueSeconds), fmt.Sprint(a.ConsentRequests),
			Human(a.ConsentWaitSeconds), fmt.Sprintf("%d/%d", a.ConsentGranted, a.ConsentRefused))
	}

	b.WriteString("\n## 6. Deadlines missed and drops\n\n")
	if len(r.Deadlines) == 0 {
		b.WriteString("No deadline was missed.\n")
	} else {
		mdHead(&b, "time", "item", "who", "deadline", "reached by then")
		for _, d := range r.Deadlines {
			who, reached := "audience", fmt.Sprintf("%d/%d", d.Reached, d.Audience)
			if d.Agency != "" {
				who, reached = d.Agency+" (reply)", fmt.Sprint(d.Reached)
			}
			mdRow(&b, d.At, d.Item, who, Human(d.DeadlineSeconds), reached)
		}
	}
	b.WriteString("\n")
	if len(r.Drops) == 0 {
		b.WriteString("No message was dropped.\n")
	} else {
		mdHead(&b, "time", "at", "to", "item", "type", "reason")
		for _, d := range r.Drops {
			mdRow(&b, d.At, d.Agency, d.To, d.Item, d.Type, d.Reason)
		}
	}

	b.WriteString("\n## 7. Findings: bottlenecks, ranked\n\n")
	b.WriteString("Each item's time to reach is split along the path of its last audience member to learn it and charged to agencies (office hours, queue, handling), channels (transit) and the third-party rule (consent round trips), summed over items.\n\n")
	if len(r.Findings) == 0 {
		b.WriteString("Nothing to report: no item had a path to analyse.\n")
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%d. **%s** %s\n", f.Rank, f.Text, f.Action)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
