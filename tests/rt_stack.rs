//! Stacks: sizes validated and rounded to pages, pooled and reused.

use std::io::ErrorKind;

use weft::{page_size, spawn, task, validate_stack_size, yield_now, Runtime, MIN_STACK_SIZE};

#[test]
fn a_too_small_stack_is_a_clear_error_and_loses_nothing() {
    let rt = Runtime::new().unwrap();
    let v = rt
        .block_on(|| {
            let err = task::Builder::new()
                .stack_size(4096)
                .spawn(|| ())
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            let msg = err.to_string();
            assert!(msg.contains("4096 bytes is too small"), "{msg}");
            assert!(msg.contains(&MIN_STACK_SIZE.to_string()), "{msg}");
            // The runtime goes on spawning.
            spawn(|| 1).join().unwrap()
        })
        .unwrap();
    assert_eq!(v, 1);
    assert_eq!(rt.task_count(), 0);
}

#[test]
fn a_too_large_stack_is_an_error() {
    let rt = Runtime::new().unwrap();
    let err = rt
        .spawn_with(task::Builder::new().stack_size(usize::MAX / 2), || ())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("too large"), "{err}");
    assert_eq!(rt.task_count(), 0);
}

#[test]
fn the_runtime_builder_validates_its_stack_size() {
    let err = Runtime::builder().stack_size(100).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("too small"), "{err}");
    let err = Runtime::builder()
        .stack_size(usize::MAX)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("too large"), "{err}");
    let rt = Runtime::builder()
        .stack_size(MIN_STACK_SIZE)
        .build()
        .unwrap();
    assert_eq!(rt.block_on(|| 2).unwrap(), 2);
}

#[test]
fn sizes_are_rounded_up_to_whole_pages() {
    let page = page_size();
    assert_eq!(
        validate_stack_size(MIN_STACK_SIZE + 1).unwrap(),
        MIN_STACK_SIZE + page
    );
    assert_eq!(validate_stack_size(MIN_STACK_SIZE).unwrap(), MIN_STACK_SIZE);
    // Two sizes that round to the same pages share pooled stacks.
    let rt = Runtime::new().unwrap();
    rt.spawn_with(task::Builder::new().stack_size(MIN_STACK_SIZE + 1), || ())
        .unwrap();
    rt.run().unwrap();
    let mapped = rt.stacks_mapped();
    rt.spawn_with(
        task::Builder::new().stack_size(MIN_STACK_SIZE + page),
        || (),
    )
    .unwrap();
    rt.run().unwrap();
    assert_eq!(
        rt.stacks_mapped(),
        mapped,
        "the rounded size reused the stack"
    );
}

#[test]
fn a_hundred_thousand_tasks_reuse_their_stacks() {
    const WAVES: usize = 100;
    const PER_WAVE: usize = 1_000;
    let rt = Runtime::builder()
        .stack_size(MIN_STACK_SIZE)
        .build()
        .unwrap();
    let mut finished = 0;
    let mut after_first_wave = 0;
    for wave in 0..WAVES {
        let handles: Vec<_> = (0..PER_WAVE)
            .map(|i| {
                rt.spawn(move || {
                    yield_now();
                    i
                })
            })
            .collect();
        rt.run().unwrap();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), i);
            finished += 1;
        }
        if wave == 0 {
            after_first_wave = rt.stacks_mapped();
        }
    }
    assert_eq!(finished, WAVES * PER_WAVE);
    assert_eq!(after_first_wave, PER_WAVE, "a wave maps its stacks once");
    assert_eq!(
        rt.stacks_mapped(),
        after_first_wave,
        "nothing mapped after wave 1"
    );
    assert_eq!(rt.task_count(), 0);
}

#[test]
fn tasks_spawned_from_tasks_reuse_stacks_too() {
    let rt = Runtime::new().unwrap();
    rt.block_on(|| {
        for _ in 0..1_000 {
            spawn(|| ()).join().unwrap();
        }
    })
    .unwrap();
    assert_eq!(
        rt.stacks_mapped(),
        2,
        "main's stack and one reused by every child"
    );
}
