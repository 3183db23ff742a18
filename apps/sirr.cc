// sirr: the Sirr command-line client. The commands live in src/cli (cli/cli.h).

#include <string>
#include <vector>

#include "cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  sirr::cli::Console console = sirr::cli::StandardConsole();
  return sirr::cli::RunCli(args, console, sirr::cli::HttpTransportFactory());
}
