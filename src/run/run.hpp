// Owns the MPI side of a sweep: rank roles, the dispatch protocol, device pinning.
// Needs MPI, the store and the trainer. Every function here is collective over
// MPI_COMM_WORLD unless it says otherwise.
#pragma once

#include <string>

namespace sweep::run {

struct Options {
    std::string study_path;
    std::string output;         // overrides the study's output when not empty
    std::string data_dir;       // a root holding one directory per data set (--data-dir)
    bool force = false;         // when the output is from another plan, write a new file beside it
    bool retry_failed = false;  // train failed units again, not only pending ones
    std::string progress = "auto";  // progress display: auto, bar or lines
    int threads = 0;          // CPU intra-op threads per worker; 0 shares the node's cores fairly
    bool share_gpus = false;  // let more workers than visible GPUs share them (--share-gpus)
    int pack = 1;             // units trained at once as one batched model per worker (--pack)
};

// Runs the study: with one rank it trains every pending unit itself; with more, rank 0
// dispatches units to the others as they ask. Returns the process exit code (ExitCode).
// Input errors found on every rank alike are reported once, by rank 0, and returned.
int run_sweep(const Options& options);

}  // namespace sweep::run
