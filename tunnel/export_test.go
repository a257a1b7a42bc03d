package tunnel

// WithChannelHook calls fn whenever forward's count of open forwarded
// connections changes, with the new count: a test's signal that a slot
// was taken or freed.
func WithChannelHook(fn func(forward, open int)) Option {
	return func(o *options) { o.onChannels = fn }
}
