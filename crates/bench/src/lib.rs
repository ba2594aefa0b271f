//! The ceilings the load benchmarks are measured against (bench/run): a bare axum endpoint
//! on the same runtime as the server, and raw argon2id verification with the server's
//! parameters on the same cores. Nothing here is used by the server.
