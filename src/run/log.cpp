#include "run/log.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "common/error.hpp"

namespace sweep::log {

spdlog::level::level_enum parse_level(const std::string& level) {
    for (const char* name : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
        if (level == name) return spdlog::level::from_str(level);
    }
    throw ConfigError(
        fmt::format("--log-level: unknown level '{}'; expected one of trace, "
                    "debug, info, warn, error, critical, off",
                    level));
}

void init(int rank, const std::string& level) {
    auto logger = spdlog::stderr_logger_mt(fmt::format("rank{}", rank));
    logger->set_pattern(fmt::format("[%H:%M:%S] (rank {}) %l: %v", rank));
    if (!level.empty()) {
        logger->set_level(parse_level(level));
    } else {
        logger->set_level(rank == 0 ? spdlog::level::info : spdlog::level::warn);
    }
    logger->flush_on(spdlog::level::trace);  // a crash must not eat the last lines
    spdlog::set_default_logger(logger);
}

}  // namespace sweep::log
