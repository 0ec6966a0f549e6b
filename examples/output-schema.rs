//! Prints the JSON Schema of lockstep's result, generated from its report
//! types: `cargo run --example output-schema > docs/output.schema.json`.

fn main() {
    print!("{}", lockstep::report::schema::output_schema());
}
