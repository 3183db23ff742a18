// Runs a libFuzzer-style target without libFuzzer (GCC builds, ctest): every file given on the
// command line (seed corpora), then a fixed number of deterministic mutations of those seeds
// (byte flips, insertions, deletions, splices, truncations). Under ASan+UBSan this is a cheap
// regression fuzz on every test run; scripts/fuzz.sh runs the real coverage-guided libFuzzer.
//
// Usage: fuzz_X [--runs N] [--seed S] FILE_OR_DIR...

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<std::string> LoadSeeds(const std::vector<std::string>& paths) {
  std::vector<std::string> seeds;
  auto add = [&](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    seeds.emplace_back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  for (const auto& p : paths) {
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file()) add(e.path());
    } else {
      add(p);
    }
  }
  if (seeds.empty()) seeds.emplace_back();
  return seeds;
}

std::string Mutate(const std::vector<std::string>& seeds, std::mt19937_64& rng) {
  std::string s = seeds[rng() % seeds.size()];
  const int rounds = 1 + static_cast<int>(rng() % 4);
  for (int r = 0; r < rounds; ++r) {
    switch (rng() % 6) {
      case 0:  // flip a byte
        if (!s.empty()) s[rng() % s.size()] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 1:  // insert a random or interesting byte
        s.insert(s.begin() + static_cast<long>(s.empty() ? 0 : rng() % (s.size() + 1)),
                 "\0\"\\{}[]:,% \n\xff\x80"[rng() % 15]);
        break;
      case 2:  // delete a range
        if (!s.empty()) {
          size_t at = rng() % s.size();
          s.erase(at, 1 + rng() % std::min<size_t>(8, s.size() - at));
        }
        break;
      case 3:  // splice with another seed
      {
        const std::string& o = seeds[rng() % seeds.size()];
        if (!o.empty()) s += o.substr(rng() % o.size());
        break;
      }
      case 4:  // truncate
        if (!s.empty()) s.resize(rng() % s.size());
        break;
      case 5:  // duplicate a chunk
        if (!s.empty() && s.size() < 4096) {
          size_t at = rng() % s.size();
          s.insert(at, s.substr(at, 1 + rng() % 16));
        }
        break;
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  long runs = 20000;
  uint64_t seed = 1;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc)
      runs = std::atol(argv[++i]);
    else if (a == "--seed" && i + 1 < argc)
      seed = std::strtoull(argv[++i], nullptr, 10);
    else
      paths.push_back(a);
  }
  auto seeds = LoadSeeds(paths);
  for (const auto& s : seeds)
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  std::mt19937_64 rng(seed);
  for (long i = 0; i < runs; ++i) {
    std::string input = Mutate(seeds, rng);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
  std::printf("%zu seeds and %ld mutations ran without a crash\n", seeds.size(), runs);
  return 0;
}
