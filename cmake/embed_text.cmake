# Turns a text file into a C++ source defining `const std::string_view ${NAME}` in namespace
# ${NS} with the file's exact bytes (the share page's HTML, CSS and JavaScript).
file(READ ${IN} content)
string(LENGTH "${content}" len)
file(WRITE ${OUT} "// Generated from ${IN}; do not edit.\n#include <string_view>\nnamespace ${NS} {\nextern const std::string_view ${NAME};\nconst std::string_view ${NAME}(R\"SIRR_EMBED(${content})SIRR_EMBED\", ${len});\n}\n")
