//! rmfc's configuration (YAML): loading, validation with key paths, and the timing budget.
