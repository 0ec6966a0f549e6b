#![no_main]
libfuzzer_sys::fuzz_target!(|input: lockstep_fuzz::EditInput| {
    lockstep_fuzz::ini_edit(&input);
});
