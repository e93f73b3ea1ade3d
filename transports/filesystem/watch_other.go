//go:build !linux

package filesystem

// watcher is Linux's inotify watcher; elsewhere there is none and waiting
// consumers poll.
type watcher struct{}

func startWatcher(*store) *watcher        { return nil }
func (*watcher) add(string, *qstate) bool { return false }
func (*watcher) stop()                    {}
