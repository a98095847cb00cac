#include <iostream>

#include "llm_router/cli/commands.hpp"

namespace llm_router::cli {

int run_serve(const std::vector<std::string>&) {
  std::cerr << "serve: being written\n";
  return 1;
}

}  // namespace llm_router::cli
