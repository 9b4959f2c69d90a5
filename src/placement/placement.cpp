#include "placement/placement.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/error.hpp"

namespace sweep::placement {

std::string describe_visible(const std::optional<std::string>& visible_devices) {
    return visible_devices ? *visible_devices : std::string("(unset)");
}

Placement place(const std::vector<NodeRank>& node, const Request& request) {
    if (request.local_rank < 0 || request.local_rank >= static_cast<int>(node.size()) ||
        !node[request.local_rank].worker) {
        throw MpiError(fmt::format("placement: local rank {} of {} on {} is not a worker",
                                   request.local_rank, node.size(), request.host));
    }

    Placement placement;
    placement.group_size = 0;  // counted below, this worker included
    const NodeRank& me = node[request.local_rank];
    int workers = 0, worker_index = 0;
    for (int local = 0; local < static_cast<int>(node.size()); ++local) {
        const NodeRank& other = node[local];
        if (!other.worker) continue;
        if (local == request.local_rank) worker_index = workers;
        ++workers;
        if (other.visible_devices != me.visible_devices) continue;
        if (local < request.local_rank) ++placement.group_position;
        ++placement.group_size;
    }

    if (request.cuda_devices > 0) {
        if (placement.group_size > request.cuda_devices && !request.share_gpus) {
            throw MpiError(fmt::format(
                "placement: {} workers on {} see the same {} GPU(s) (CUDA_VISIBLE_DEVICES {}); "
                "start at most {} worker(s) per node, or pass --share-gpus to let several "
                "workers train on one GPU",
                placement.group_size, request.host, request.cuda_devices,
                describe_visible(me.visible_devices), request.cuda_devices));
        }
        placement.cuda = true;
        placement.device = placement.group_position % request.cuda_devices;
        return placement;
    }

    const int cores = std::max(1, request.cores);
    const int share = cores / workers + (worker_index < cores % workers ? 1 : 0);
    placement.threads = request.threads > 0 ? request.threads : std::max(1, share);
    return placement;
}

}  // namespace sweep::placement
