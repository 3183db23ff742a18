// sirr completion bash|zsh|fish prints a script that asks `sirr __complete WORDS...` for the
// candidates, so completion always matches the binary's own command tree.

#include <algorithm>

#include "cli/commands.h"

namespace sirr::cli {
namespace {

constexpr char kBash[] = R"SH(# sirr bash completion: source <(sirr completion bash)
_sirr() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  local IFS=$'\n'
  COMPREPLY=($(compgen -W "$(sirr __complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null)" -- "$cur"))
}
complete -o default -F _sirr sirr
)SH";

constexpr char kZsh[] = R"SH(# sirr zsh completion: source <(sirr completion zsh)
_sirr() {
  local -a candidates
  candidates=("${(@f)$(sirr __complete "${(@)words[2,CURRENT-1]}" 2>/dev/null)}")
  compadd -a candidates
}
compdef _sirr sirr
)SH";

constexpr char kFish[] = R"SH(# sirr fish completion: sirr completion fish | source
complete -c sirr -f -a '(sirr __complete (commandline -opc)[2..-1] 2>/dev/null)'
)SH";

class Completion final : public Command {
 public:
  explicit Completion(CLI::App& app) {
    script_ =
        app.add_subcommand("completion", "Print a shell completion script for bash, zsh or fish");
    script_->add_option("SHELL", shell_, "bash, zsh or fish")
        ->required()
        ->check(CLI::IsMember({"bash", "zsh", "fish"}));
    Examples(script_, {"source <(sirr completion bash)      # in ~/.bashrc",
                       "source <(sirr completion zsh)       # in ~/.zshrc, after compinit",
                       "sirr completion fish > ~/.config/fish/completions/sirr.fish"});
  }
  bool parsed() const override { return script_->parsed(); }

  int Run(Session& s) override {
    s.io().out << (shell_ == "bash" ? kBash : shell_ == "zsh" ? kZsh : kFish);
    return 0;
  }

 private:
  CLI::App* script_;
  std::string shell_;
};

}  // namespace

void CompleteWords(const CLI::App& app, const std::vector<std::string>& words, std::ostream& out) {
  auto all = [](const CLI::App*) { return true; };
  // Walk the words typed so far down the command tree; offer the subcommands and flags of the
  // command reached (its parents' flags too: they fall through).
  const CLI::App* at = &app;
  for (const std::string& word : words) {
    if (word.starts_with("-")) continue;
    for (const CLI::App* sub : at->get_subcommands(all))
      if (sub->get_name() == word) {
        at = sub;
        break;
      }
  }
  std::vector<std::string> seen;
  auto offer = [&](const std::string& candidate) {
    if (std::find(seen.begin(), seen.end(), candidate) != seen.end()) return;
    seen.push_back(candidate);
    out << candidate << "\n";
  };
  for (const CLI::App* sub : at->get_subcommands(all)) offer(sub->get_name());
  for (const CLI::App* a = at; a; a = a->get_parent())
    for (const CLI::Option* opt : a->get_options())
      for (const std::string& name : opt->get_lnames()) offer("--" + name);
}

std::unique_ptr<Command> CompletionCommands(CLI::App& app) {
  return std::make_unique<Completion>(app);
}

}  // namespace sirr::cli
