// Sends a text from one rank to all the others of a communicator.
// Needs MPI. Collective: every rank of the communicator calls it with the same root.
#pragma once

#include <mpi.h>

#include <string>

namespace sweep {

inline void broadcast_text(std::string& text, int root, MPI_Comm comm) {
    int length = static_cast<int>(text.size());
    MPI_Bcast(&length, 1, MPI_INT, root, comm);
    text.resize(static_cast<size_t>(length));
    MPI_Bcast(text.data(), length, MPI_CHAR, root, comm);
}

}  // namespace sweep
