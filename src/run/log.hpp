// Owns sweep's one logger: levels, "(rank N)" in every line, stderr only.
// Needs spdlog. Safe across threads (spdlog's _mt sink); set up once per process.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace sweep::log {

// Ranks above 0 log warnings and errors only unless a level is given, so a run's output
// is one readable stream from the scheduler.
void init(int rank, const std::string& level);

// Throws ConfigError for a level name spdlog does not know.
spdlog::level::level_enum parse_level(const std::string& level);

}  // namespace sweep::log
