use super::*;
use crate::id::clock::fake::FakeClock;

const EPOCH_MS: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z

fn config(layout: Layout, worker_id: u64, clock_backwards: ClockBackwards) -> Config {
  Config {
    layout,
    worker_id,
    epoch_ms: EPOCH_MS,
    clock_backwards,
  }
}

fn twitter(clock: &FakeClock, policy: ClockBackwards) -> Snowflake<&FakeClock> {
  Snowflake::with_clock(config(Layout::TWITTER, 7, policy), clock).unwrap()
}

fn assert_strictly_increasing(ids: &[u64]) {
  for pair in ids.windows(2) {
    assert!(pair[0] < pair[1], "{} then {}", pair[0], pair[1]);
  }
}

#[test]
fn a_fixed_time_worker_and_sequence_encode_to_the_expected_id() {
  let clock = FakeClock::at_ms(EPOCH_MS + 1_000);
  let mut gen = twitter(&clock, ClockBackwards::Throw);
  // 1000 ms << 22 | worker 7 << 12 | sequence 0, then sequence 1.
  assert_eq!(gen.next_id(), Ok(1000 * 4_194_304 + 7 * 4096));
  assert_eq!(gen.next_id(), Ok(1000 * 4_194_304 + 7 * 4096 + 1));
  let parts = gen.parse(1000 * 4_194_304 + 7 * 4096 + 1).unwrap();
  assert_eq!((parts.time, parts.worker, parts.sequence), (1000, 7, 1));
}

#[test]
fn sonyflake_counts_10ms_units_and_puts_the_sequence_above_the_machine() {
  let clock = FakeClock::at_ms(EPOCH_MS + 25);
  let cfg = config(Layout::SONYFLAKE, 0xbeef, ClockBackwards::Throw);
  let mut gen = Snowflake::with_clock(cfg, &clock).unwrap();
  assert_eq!(gen.next_id(), Ok(2 * (1 << 24) + 0xbeef));
  assert_eq!(gen.next_id(), Ok(2 * (1 << 24) + (1 << 16) + 0xbeef));
}

#[test]
fn exhausting_the_sequence_waits_for_the_next_unit() {
  // The clock stands still unless the generator waits: 3 x 4096 IDs "within one ms".
  let clock = FakeClock::at_ms(EPOCH_MS + 5);
  let mut gen = twitter(&clock, ClockBackwards::Throw);
  let mut ids = vec![0; 3 * 4096];
  gen.next_batch(&mut ids).unwrap();
  assert_strictly_increasing(&ids);
  let times: Vec<u64> = ids.iter().map(|&id| gen.parse(id).unwrap().time).collect();
  assert_eq!(times[0], 5);
  assert_eq!(times[4095], 5);
  assert_eq!(times[4096], 6);
  assert_eq!(times[3 * 4096 - 1], 7);
  assert_eq!(clock.micros.get(), (EPOCH_MS + 7) * 1000);
}

#[test]
fn exhausting_the_sequence_on_the_real_clock_stays_unique_and_increasing() {
  let cfg = config(Layout::TWITTER, 1, ClockBackwards::DEFAULT_WAIT);
  let mut gen = Snowflake::new(cfg).unwrap();
  let mut ids = vec![0; 3 * 4096];
  gen.next_batch(&mut ids).unwrap();
  assert_strictly_increasing(&ids);
  let mut per_unit = std::collections::HashMap::new();
  for id in &ids {
    *per_unit.entry(gen.parse(*id).unwrap().time).or_insert(0) += 1;
  }
  assert!(per_unit.len() >= 3);
  assert!(per_unit.values().all(|&n| n <= 4096));
}

#[test]
fn a_clock_stepping_back_is_waited_out_without_a_repeat() {
  let clock = FakeClock::at_ms(EPOCH_MS + 100);
  let mut gen = twitter(&clock, ClockBackwards::DEFAULT_WAIT);
  let before = gen.next_id().unwrap();
  clock.set_ms(EPOCH_MS + 40); // 60 ms back
  let after = gen.next_id().unwrap();
  assert!(after > before);
  assert!(clock.micros.get() >= (EPOCH_MS + 100) * 1000, "it waited");
}

#[test]
fn a_clock_stepping_back_further_than_the_bound_fails_instead_of_waiting() {
  let clock = FakeClock::at_ms(EPOCH_MS + 10_000);
  let policy = ClockBackwards::Wait {
    max: Duration::from_millis(500),
  };
  let mut gen = twitter(&clock, policy);
  gen.next_id().unwrap();
  clock.set_ms(EPOCH_MS + 8_000);
  let err = gen.next_id().unwrap_err();
  assert!(
    matches!(err, IdError::ClockMovedBackwards { behind_micros } if behind_micros > 1_000_000)
  );
  assert_eq!(
    clock.micros.get(),
    (EPOCH_MS + 8_000) * 1000,
    "it did not wait"
  );
}

#[test]
fn throw_policy_throws_and_the_generator_recovers_with_the_clock() {
  let clock = FakeClock::at_ms(EPOCH_MS + 100);
  let mut gen = twitter(&clock, ClockBackwards::Throw);
  let before = gen.next_id().unwrap();
  clock.set_ms(EPOCH_MS + 99);
  assert_eq!(gen.next_id().unwrap_err().code(), "ECLOCKBACKWARDS");
  clock.set_ms(EPOCH_MS + 100);
  assert!(gen.next_id().unwrap() > before);
}

#[test]
fn throw_policy_also_throws_when_the_clock_steps_back_during_a_wait() {
  struct Backwards(std::cell::Cell<i64>);
  impl Clock for &Backwards {
    fn now_micros(&self) -> i64 {
      self.0.get()
    }
    fn pause(&self, _: Duration) {
      self.0.set(self.0.get() - 5_000); // every wait finds the clock further back
    }
  }
  let clock = Backwards(std::cell::Cell::new((EPOCH_MS + 100) * 1000));
  let cfg = config(Layout::TWITTER, 0, ClockBackwards::Throw);
  let mut gen = Snowflake::with_clock(cfg, &clock).unwrap();
  let mut ids = vec![0; 4096];
  gen.next_batch(&mut ids).unwrap();
  assert!(matches!(
    gen.next_id(),
    Err(IdError::ClockMovedBackwards { .. })
  ));
}

#[test]
fn a_jittery_clock_never_makes_ids_repeat_or_decrease() {
  let clock = FakeClock::at_ms(EPOCH_MS + 1_000);
  let mut gen = twitter(&clock, ClockBackwards::DEFAULT_WAIT);
  let mut state = 0x2545_f491_4f6c_dd1d_u64;
  let mut last = 0;
  for _ in 0..200_000 {
    // xorshift: steps from 3 ms back to 3 ms forward, in µs.
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    let step = (state % 6_001) as i64 - 3_000;
    clock.micros.set(clock.micros.get() + step);
    let id = gen.next_id().unwrap();
    assert!(id > last, "{id} after {last}");
    last = id;
  }
}

#[test]
fn bad_configurations_are_rejected() {
  let clock = FakeClock::at_ms(EPOCH_MS + 1);
  let policy = ClockBackwards::Throw;
  let with = |cfg| Snowflake::with_clock(cfg, &clock).err();
  assert!(matches!(
    with(config(Layout::TWITTER, 1024, policy)),
    Some(IdError::WorkerOutOfRange {
      worker: 1024,
      max: 1023
    })
  ));
  let too_wide = Layout {
    time_bits: 42,
    ..Layout::TWITTER
  };
  assert!(matches!(
    with(config(too_wide, 0, policy)),
    Some(IdError::InvalidLayout(_))
  ));
  let future_epoch = Config {
    epoch_ms: EPOCH_MS + 10,
    ..config(Layout::TWITTER, 0, policy)
  };
  assert_eq!(with(future_epoch), Some(IdError::BeforeEpoch));
}

#[test]
fn a_clock_within_a_millisecond_before_the_epoch_mints_at_the_epoch() {
  // An epoch of Date.now() is whole milliseconds; the process clock may read just before it.
  let clock = FakeClock::at_ms(EPOCH_MS);
  clock.micros.set(EPOCH_MS * 1000 - 999);
  let config = config(Layout::TWITTER, 61, ClockBackwards::Throw);
  let mut gen = Snowflake::with_clock(config, &clock).unwrap();
  let first = gen.next_id().unwrap();
  let second = gen.next_id().unwrap();
  assert!(second > first);
  assert_eq!(gen.parse(first).unwrap().time, 0);
  clock.micros.set(EPOCH_MS * 1000 - 1001);
  let config = Config {
    worker_id: 62,
    ..config
  };
  assert_eq!(
    Snowflake::with_clock(config, &clock).err(),
    Some(IdError::BeforeEpoch)
  );
}

#[test]
fn ids_never_exceed_the_time_field() {
  let layout = Layout::custom(4, 1, 1, 1).unwrap(); // 16 ms of lifetime
  let clock = FakeClock::at_ms(EPOCH_MS + 15);
  let mut gen = Snowflake::with_clock(config(layout, 0, ClockBackwards::Throw), &clock).unwrap();
  assert!(gen.next_id().is_ok());
  assert!(gen.next_id().is_ok());
  // The sequence is used up in the last unit the time field can hold.
  assert_eq!(gen.next_id(), Err(IdError::TimeOverflow { time_bits: 4 }));
}

#[test]
fn filling_the_current_unit_stops_at_the_end_of_its_sequence() {
  let clock = FakeClock::at_ms(EPOCH_MS + 3);
  let mut gen = twitter(&clock, ClockBackwards::Throw);
  let mut cache = vec![0; 1000];
  let mut ids = Vec::new();
  for _ in 0..4 {
    let n = gen.fill_current_unit(&mut cache).unwrap();
    ids.extend_from_slice(&cache[..n]);
  }
  // 4096 sequence numbers in unit 3: 1000 + 1000 + 1000 + 1000, then 96 left.
  assert_eq!(ids.len(), 4000);
  assert_eq!(gen.fill_current_unit(&mut cache), Ok(96));
  assert_eq!(gen.parse(cache[95]).unwrap().sequence, 4095);
  assert_eq!(clock.micros.get(), (EPOCH_MS + 3) * 1000, "no wait so far");
  // The next fill waits for unit 4 and starts its sequence over.
  assert_eq!(gen.fill_current_unit(&mut cache), Ok(1000));
  let first = gen.parse(cache[0]).unwrap();
  assert_eq!((first.time, first.sequence), (4, 0));
  ids.extend_from_slice(&cache);
  assert_strictly_increasing(&ids);
}

// ---- Shared sequences and lease marks ----------------------------------------------
// Each test uses worker IDs of its own: shared state is process-wide and tests run in
// parallel.

fn shared(clock: &FakeClock, worker: u64) -> Snowflake<&FakeClock> {
  Snowflake::shared(
    config(Layout::TWITTER, worker, ClockBackwards::DEFAULT_WAIT),
    clock,
  )
  .unwrap()
}

#[test]
fn two_shared_generators_on_one_worker_id_never_repeat_each_other() {
  let clock = FakeClock::at_ms(EPOCH_MS + 50);
  let (mut a, mut b) = (shared(&clock, 801), shared(&clock, 801));
  let (mut from_a, mut from_b) = (Vec::new(), Vec::new());
  for _ in 0..5000 {
    from_a.push(a.next_id().unwrap());
    from_b.push(b.next_id().unwrap());
  }
  assert_strictly_increasing(&from_a);
  assert_strictly_increasing(&from_b);
  let all: std::collections::HashSet<u64> = from_a.iter().chain(&from_b).copied().collect();
  assert_eq!(all.len(), 10_000);
}

fn gen_time(gen: &mut Snowflake<&FakeClock>) -> i64 {
  let id = gen.next_id().unwrap();
  gen.parse(id).unwrap().time as i64
}

#[test]
fn shared_generators_on_many_threads_mint_distinct_ids() {
  let threads: Vec<_> = (0..4)
    .map(|_| {
      std::thread::spawn(|| {
        let cfg = config(Layout::TWITTER, 802, ClockBackwards::DEFAULT_WAIT);
        let mut gen = Snowflake::shared(cfg, SystemClock).unwrap();
        let mut ids = vec![0; 20_000];
        for id in &mut ids {
          *id = gen.next_id().unwrap();
        }
        ids
      })
    })
    .collect();
  let mut all = std::collections::HashSet::new();
  for thread in threads {
    let ids = thread.join().unwrap();
    assert_strictly_increasing(&ids);
    all.extend(ids);
  }
  assert_eq!(all.len(), 80_000);
}

#[test]
fn a_generator_on_a_leased_id_mints_only_after_the_mark_and_renews_it_ahead() {
  let dir = crate::test_util::ScratchDir::new("snowflake-mark");
  let path = dir.join("worker-803.hwm");
  // A killed holder reserved up to +300 ms; the clock reads +100 ms.
  mark::write_mark(&path, EPOCH_MS + 300).unwrap();
  let clock = FakeClock::at_ms(EPOCH_MS + 100);
  let mut held = mark::HeldMark::hold(803, &path, EPOCH_MS + 100).unwrap();
  assert_eq!(held.floor_ms(), Some(EPOCH_MS + 300));
  let mut gen = shared(&clock, 803);
  assert_eq!(gen_time(&mut gen), 301, "waited past the mark");
  // Minting on towards the reservation renews it before getting there.
  let reserved = mark::read_mark(&path).unwrap().unwrap();
  clock.set_ms(reserved - mark::RENEW_MARGIN_MS + 1);
  let time = gen_time(&mut gen);
  let renewed = mark::read_mark(&path).unwrap().unwrap();
  assert!(
    renewed >= EPOCH_MS + time + mark::RESERVATION_MS,
    "{renewed} for {time}"
  );
  // At release the file says the last millisecond used, and the next holder starts after it.
  held.release();
  assert_eq!(mark::read_mark(&path).unwrap(), Some(EPOCH_MS + time));
  let held = mark::HeldMark::hold(803, &path, EPOCH_MS + time).unwrap();
  assert!(gen_time(&mut gen) > time);
  drop(held);
}

#[test]
fn a_failed_renewal_hands_out_no_id() {
  let dir = crate::test_util::ScratchDir::new("snowflake-mark-fail");
  let path = dir.join("worker-804.hwm");
  let clock = FakeClock::at_ms(EPOCH_MS + 100);
  let _held = mark::HeldMark::hold(804, &path, EPOCH_MS + 100).unwrap();
  let mut gen = shared(&clock, 804);
  gen.next_id().unwrap();
  drop(dir); // the directory is gone: the next renewal cannot be written
  clock.set_ms(EPOCH_MS + 100 + mark::RESERVATION_MS);
  let err = gen.next_id().unwrap_err();
  assert!(
    matches!(err, IdError::MarkNotRecorded { code: "ENOENT", .. }),
    "{err:?}"
  );
}
