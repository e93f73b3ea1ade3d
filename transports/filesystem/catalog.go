package filesystem

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/virtual"
)

// racyWindow is how old a directory's modification time must be before a
// listing cached under it is trusted: file systems stamp directories with
// a coarse clock, so two changes within one tick can leave the same time.
const racyWindow = time.Second

// bindingFile is the JSON content of a binding file.
type bindingFile struct {
	Queue string      `json:"queue"`
	Key   string      `json:"key"`
	Args  route.Table `json:"args,omitempty"`
}

// bindCache is this process's last listing of an exchange's bindings.
type bindCache struct {
	mu    sync.Mutex
	mtime time.Time
	rows  []virtual.Binding
}

func (s *store) bindingsDir(exchange string) string { return s.path(dirBindings, escape(exchange)) }

// bindingPath names a binding's file by a hash of its content, so adding
// it twice writes the same file.
func (s *store) bindingPath(exchange string, b virtual.Binding) (string, []byte, error) {
	data, err := json.Marshal(bindingFile{Queue: b.Queue, Key: b.Key, Args: b.Args})
	if err != nil {
		return "", nil, ioError("binding", err)
	}
	sum := sha256.Sum256(data)
	return filepath.Join(s.bindingsDir(exchange), hex.EncodeToString(sum[:16])+".json"), data, nil
}

// AddBinding implements [virtual.Catalog]: one file per binding under
// bindings/<exchange>/.
func (s *store) AddBinding(_ context.Context, exchange string, b virtual.Binding) error {
	path, data, err := s.bindingPath(exchange, b)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return ioError("add binding", err)
	}
	if err := writeFileAtomic(s.path(dirTmp), path, data, !s.cfg.NoSync); err != nil {
		return ioError("add binding", err)
	}
	s.bind.Delete(exchange)
	return nil
}

// RemoveBinding implements [virtual.Catalog].
func (s *store) RemoveBinding(_ context.Context, exchange string, b virtual.Binding) error {
	path, _, err := s.bindingPath(exchange, b)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !notExist(err) {
		return ioError("remove binding", err)
	}
	s.bind.Delete(exchange)
	return nil
}

// Bindings implements [virtual.Catalog]. The listing is cached while the
// directory's modification time stays the same and is older than
// racyWindow.
func (s *store) Bindings(_ context.Context, exchange string) ([]virtual.Binding, error) {
	dir := s.bindingsDir(exchange)
	st, err := os.Stat(dir)
	if notExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, ioError("bindings", err)
	}
	v, _ := s.bind.LoadOrStore(exchange, new(bindCache))
	bc := v.(*bindCache)
	bc.mu.Lock()
	defer bc.mu.Unlock()
	if bc.mtime.Equal(st.ModTime()) && time.Since(st.ModTime()) > racyWindow {
		return bc.rows, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, ioError("bindings", err)
	}
	rows := make([]virtual.Binding, 0, len(entries))
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if notExist(err) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, ioError("bindings", err)
		}
		var f bindingFile
		if err := json.Unmarshal(data, &f); err != nil || f.Queue == "" {
			s.log.Warn("filesystem: ignoring an unreadable binding file", "file", e.Name(), "exchange", exchange, "err", err)
			continue
		}
		rows = append(rows, virtual.Binding{Queue: f.Queue, Key: f.Key, Args: f.Args})
	}
	bc.mtime, bc.rows = st.ModTime(), slices.Clip(rows)
	return bc.rows, nil
}

func (s *store) exchangePath(name string) string {
	return s.path(dirExchanges, escape(name)+".json")
}

// PutExchange implements [virtual.ExchangeCatalog].
func (s *store) PutExchange(_ context.Context, def route.Exchange) error {
	data, err := json.Marshal(def)
	if err == nil {
		err = writeFileAtomic(s.path(dirTmp), s.exchangePath(def.Name), data, !s.cfg.NoSync)
	}
	if err != nil {
		return ioError("put exchange", err)
	}
	return nil
}

// DeleteExchange implements [virtual.ExchangeCatalog].
func (s *store) DeleteExchange(_ context.Context, name string) error {
	if err := os.Remove(s.exchangePath(name)); err != nil && !notExist(err) {
		return ioError("delete exchange", err)
	}
	return nil
}

// Exchange implements [virtual.ExchangeCatalog].
func (s *store) Exchange(_ context.Context, name string) (route.Exchange, bool, error) {
	data, err := os.ReadFile(s.exchangePath(name))
	if notExist(err) {
		return route.Exchange{}, false, nil
	}
	if err != nil {
		return route.Exchange{}, false, ioError("exchange", err)
	}
	var def route.Exchange
	if err := json.Unmarshal(data, &def); err != nil || def.Name != name {
		s.log.Warn("filesystem: ignoring an unreadable exchange file", "exchange", name, "err", err)
		return route.Exchange{}, false, nil
	}
	return def, true, nil
}
