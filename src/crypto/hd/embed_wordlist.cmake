# Turns bip39_english.txt into a C++ source holding the file's exact bytes.
file(READ ${IN} content)
string(LENGTH "${content}" len)
file(WRITE ${OUT} "// Generated from ${IN}; do not edit.\n#include <string_view>\nnamespace sirr::crypto::hd {\nextern const std::string_view kBip39EnglishText;\nconst std::string_view kBip39EnglishText(R\"WORDLIST(${content})WORDLIST\", ${len});\n}\n")
