//! One small worker pool, for loading the pieces of a big rule file and for scanning
//! several log files at once: scoped threads take the next item from a shared counter, so
//! a slow item never holds up the others, and the results come back in item order.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The threads to use when not told: one per core.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Runs `work` on every item on up to `threads` threads (`None`: one per core), each
/// thread with its own state from `init` (a scanner and its buffers, say). Returns the
/// results in the order of `items`, whatever order they finished in.
pub fn map_in_order<I, S, R>(
    items: &[I],
    threads: Option<usize>,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &I) -> R + Sync,
) -> Vec<R>
where
    I: Sync,
    R: Send,
{
    let mut results = Vec::with_capacity(items.len());
    for_each_in_order(items, threads, init, work, |r| results.push(r));
    results
}

/// Like [`map_in_order`], but each result goes to `take`, on the calling thread and in
/// item order, as soon as it and those before it are done: results too big to hold all
/// at once and then copy (the rules of a big rule file's pieces) are moved on one by one.
pub fn for_each_in_order<I, S, R>(
    items: &[I],
    threads: Option<usize>,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &I) -> R + Sync,
    mut take: impl FnMut(R),
) where
    I: Sync,
    R: Send,
{
    let workers = threads.unwrap_or_else(cores).min(items.len()).max(1);
    if workers == 1 {
        let mut state = init();
        items.iter().for_each(|item| take(work(&mut state, item)));
        return;
    }
    let next = AtomicUsize::new(0);
    let (done, results) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let done = done.clone();
            let (next, init, work) = (&next, &init, &work);
            scope.spawn(move || {
                let mut state = init();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    if done.send((i, work(&mut state, item))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        // Results that came before their turn.
        let mut early = std::collections::BTreeMap::new();
        let mut turn = 0;
        for (i, result) in results {
            early.insert(i, result);
            while let Some(result) = early.remove(&turn) {
                take(result);
                turn += 1;
            }
        }
    });
}

/// Like [`map_in_order`], but each thread folds the items it takes into its own state
/// (`work` gets each item's index too), and the states come back, one per thread: for
/// results too many to keep item by item, such as the summary of a corpus of logs.
pub fn fold<I, S>(
    items: &[I],
    threads: Option<usize>,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, usize, &I) + Sync,
) -> Vec<S>
where
    I: Sync,
    S: Send,
{
    let workers = threads.unwrap_or_else(cores).min(items.len()).max(1);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut state = init();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        work(&mut state, i, item);
                    }
                    state
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_item_order() {
        let items: Vec<u64> = (0..100).collect();
        for threads in [None, Some(1), Some(3), Some(200)] {
            let out = map_in_order(
                &items,
                threads,
                || 0u64,
                |seen, &x| {
                    *seen += 1;
                    x * 2
                },
            );
            assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        }
        assert!(map_in_order(&[] as &[u8], None, || (), |(), _| 0).is_empty());
    }

    #[test]
    fn streamed_results_come_in_item_order() {
        let items: Vec<u64> = (0..100).collect();
        for threads in [None, Some(1), Some(3), Some(200)] {
            let mut out = Vec::new();
            for_each_in_order(
                &items,
                threads,
                || (),
                |(), &x| {
                    // Later items finish first, so results arrive out of order.
                    std::thread::sleep(std::time::Duration::from_micros(100 - x));
                    x * 2
                },
                |r| out.push(r),
            );
            assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        }
        for_each_in_order(
            &[] as &[u8],
            None,
            || (),
            |(), _| 0,
            |_: i32| panic!("no item"),
        );
    }

    #[test]
    fn folds_see_every_item_once() {
        let items: Vec<u64> = (1..=100).collect();
        for threads in [None, Some(1), Some(3)] {
            let states = fold(&items, threads, Vec::new, |seen, i, &x| {
                assert_eq!(items[i], x);
                seen.push(x);
            });
            let mut all: Vec<u64> = states.into_iter().flatten().collect();
            all.sort_unstable();
            assert_eq!(all, items);
        }
    }
}
