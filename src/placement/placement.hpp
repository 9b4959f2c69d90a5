// Owns the rule that maps a worker to a CUDA device or to a share of its node's CPU cores.
// Plain C++ with no MPI or Torch, so the rule is tested as a table; run.cpp gathers its inputs.
// Pure functions; safe anywhere.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace sweep::placement {

// One rank of a node as placement sees it, in the node's MPI order (node-local rank).
struct NodeRank {
    bool worker = true;  // false for rank 0 when it only schedules
    // CUDA_VISIBLE_DEVICES as this rank's environment has it; nullopt when unset.
    std::optional<std::string> visible_devices;
};

// What the caller knows of this rank's own process and node.
struct Request {
    std::string host;
    int local_rank = 0;       // this rank's index in the node's list
    int cuda_devices = 0;     // devices LibTorch sees in this process (after the variable)
    int cores = 1;            // the node's hardware threads
    int threads = 0;          // --threads; 0 shares the node's cores fairly
    bool share_gpus = false;  // allow more workers than visible devices (--share-gpus)
};

struct Placement {
    bool cuda = false;
    int device = 0;          // index among this process's visible devices
    int threads = 1;         // CPU intra-op threads; 1 when training on CUDA
    int group_size = 1;      // workers of the node that see the same devices as this one
    int group_position = 0;  // this worker's place among them, in local-rank order
};

// The rule: workers of a node that see the same CUDA_VISIBLE_DEVICES (or all that see it unset)
// form a group and share the devices they see; the p-th of a group takes device p. So mpirun on
// a 4-GPU node spreads four workers over devices 0..3, and srun --gpus-per-task=1, where each
// task sees only its own GPU, puts every worker on its device 0. Without CUDA the node's cores
// are divided among its workers, the remainder going to the first ones.
// Throws MpiError naming the host when a group has more workers than devices and sharing was
// not asked for, and when the caller is not a worker.
Placement place(const std::vector<NodeRank>& node, const Request& request);

// Text for the log and the result file: "CUDA_VISIBLE_DEVICES=0,1" or "(unset)".
std::string describe_visible(const std::optional<std::string>& visible_devices);

}  // namespace sweep::placement
