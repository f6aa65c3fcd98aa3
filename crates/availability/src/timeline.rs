//! Busy time as a sorted list of merged intervals (unix seconds), walked once
//! from earliest to latest while slots are generated.

/// Merged, sorted, non-touching `[start, end)` intervals in unix seconds.
pub(crate) struct Timeline {
    intervals: Vec<(i64, i64)>,
    /// Index of the first interval that may still matter; only moves forward.
    cursor: usize,
}

impl Timeline {
    /// Merges `intervals`, each first widened by the buffers.
    pub(crate) fn new(
        intervals: impl Iterator<Item = (i64, i64)>,
        before: i64,
        after: i64,
    ) -> Self {
        let mut widened: Vec<(i64, i64)> = intervals
            .filter(|(start, end)| start < end)
            .map(|(start, end)| (start - before, end + after))
            .collect();
        widened.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(widened.len());
        for (start, end) in widened {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        Self {
            intervals: merged,
            cursor: 0,
        }
    }

    /// Whether `[start, end)` overlaps busy time. Calls must come with
    /// non-decreasing `start`.
    pub(crate) fn overlaps(&mut self, start: i64, end: i64) -> bool {
        while self.cursor < self.intervals.len() && self.intervals[self.cursor].1 <= start {
            self.cursor += 1;
        }
        self.intervals
            .get(self.cursor)
            .is_some_and(|&(busy_start, _)| busy_start < end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_overlapping_and_touching_intervals() {
        let timeline = Timeline::new(
            [(10, 20), (0, 5), (5, 8), (15, 30), (40, 41)].into_iter(),
            0,
            0,
        );
        assert_eq!(timeline.intervals, vec![(0, 8), (10, 30), (40, 41)]);
    }

    #[test]
    fn buffers_widen_before_merging_and_empty_intervals_vanish() {
        let timeline = Timeline::new([(10, 20), (25, 30), (50, 50)].into_iter(), 2, 3);
        assert_eq!(timeline.intervals, vec![(8, 33)]);
    }

    #[test]
    fn overlap_is_half_open() {
        let mut timeline = Timeline::new([(10, 20)].into_iter(), 0, 0);
        assert!(!timeline.overlaps(0, 10));
        assert!(timeline.overlaps(5, 11));
        assert!(timeline.overlaps(19, 25));
        assert!(!timeline.overlaps(20, 30));
    }
}
