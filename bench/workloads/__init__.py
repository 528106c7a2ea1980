"""Benchmark workloads. Each module exposes build_and_run(tf, steps, warmup), torch_run(steps, warmup),
numpy_run(steps, warmup), STEPS, WARMUP and UNIT ("ms" per step or "us" per run)."""
