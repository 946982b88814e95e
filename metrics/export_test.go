package metrics

// Dense returns a copy of the Sampler in which every series changes at
// every sample, so that WriteOpenMetrics writes each series at every
// sample from its first on, as the file was written before it was written
// by change: the reference the tests compare with.
func (s *Sampler) Dense() *Sampler {
	d := *s
	d.fams = map[string]*family{}
	for n, f := range s.fams {
		g := *f
		g.series = map[string]*series{}
		for k, sr := range f.series {
			ds := &series{labels: sr.labels, bounds: sr.bounds}
			p := 0
			for i := sr.points[0].idx; i < len(s.times); i++ {
				for p+1 < len(sr.points) && sr.points[p+1].idx <= i {
					p++
				}
				ds.points = append(ds.points, point{i, sr.points[p].v})
			}
			g.series[k] = ds
		}
		d.fams[n] = &g
	}
	return &d
}
