# sirr_library(NAME SOURCES ... DEPS ...): one static library per folder of src/.
# Unit tests (*_test.cc) beside the sources are collected into SIRR_UNIT_TEST_SOURCES and
# linked into the one aggregate test binary.
set(SIRR_UNIT_TEST_SOURCES "" CACHE INTERNAL "")
set(SIRR_UNIT_TEST_LIBS "" CACHE INTERNAL "")

function(sirr_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  set(SIRR_UNIT_TEST_SOURCES ${SIRR_UNIT_TEST_SOURCES} ${tests} CACHE INTERNAL "")
  set(SIRR_UNIT_TEST_LIBS ${SIRR_UNIT_TEST_LIBS} ${name} CACHE INTERNAL "")
endfunction()
