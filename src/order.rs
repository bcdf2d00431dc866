//! Sorting records too large to move around: attempts and their verdicts are
//! several hundred bytes each, and a sort that swaps them copies each one
//! once per comparison it loses. Sorting their keys with their places and
//! then moving each record once to where it belongs costs a fraction of that.

/// Sort `v` by `key`, stably (equal keys keep their order), moving each
/// element twice in all.
pub fn sort_by_key_moving_once<T, K: Ord>(v: &mut Vec<T>, key: impl Fn(&T) -> K) {
    if v.len() < 2 {
        return;
    }
    // The place breaks ties: an unstable sort of (key, place) is stable.
    let mut order: Vec<(K, usize)> = v.iter().map(&key).zip(0..).collect();
    order.sort_unstable();
    let mut slots: Vec<Option<T>> = v.drain(..).map(Some).collect();
    v.extend(
        order
            .into_iter()
            .filter_map(|(_, i)| slots.get_mut(i)?.take()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sorts_as_a_stable_sort_does(v in proptest::collection::vec((0u8..8, any::<u32>()), 0..64)) {
            let mut want = v.clone();
            want.sort_by_key(|e| e.0);
            let mut got = v;
            sort_by_key_moving_once(&mut got, |e| e.0);
            prop_assert_eq!(got, want);
        }
    }
}
