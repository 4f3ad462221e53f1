//! State that the threads of the process share: per worker ID (lease marks) and per
//! generator key (Snowflake sequences), each created by its first user and dropped
//! with its last.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

/// The live states by key. Entries are weak: the users own the state.
pub(crate) type Registry<K, V> = OnceLock<Mutex<HashMap<K, Weak<Mutex<V>>>>>;

/// The state for `key`: the one its other users hold, or a new default one.
pub(crate) fn shared<K: Eq + Hash, V: Default>(registry: &Registry<K, V>, key: K) -> Arc<Mutex<V>> {
  let mut states = lock(registry.get_or_init(Default::default));
  if let Some(state) = states.get(&key).and_then(Weak::upgrade) {
    return state;
  }
  states.retain(|_, state| state.strong_count() > 0);
  let state = Arc::new(Mutex::new(V::default()));
  states.insert(key, Arc::downgrade(&state));
  state
}

/// A poisoned lock only means another thread panicked while minting; the state itself
/// is always consistent between statements that change it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
  mutex
    .lock()
    .unwrap_or_else(|poisoned| poisoned.into_inner())
}
