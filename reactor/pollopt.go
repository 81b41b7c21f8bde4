//go:build poll_opt

package reactor

// gnet's poll_opt build tag changes the pkg/netpoll API (Polling takes no
// callback and keeps *PollAttachment pointers in kernel memory). The reactor
// is written for the default API; this undefined name stops the build with
// a message that says why.
var _ = sigdial_reactor_does_not_support_the_gnet_poll_opt_build_tag__build_without_it
