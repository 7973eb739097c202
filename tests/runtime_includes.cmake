# The runtime umbrella stays apart from the tooling: a file that includes only
# <albertner/albertner.hpp> must not reach the converter, the CoNLL scorer, the checkpoint readers
# (pickle, zip, torch_bin) or the writers (safetensors_writer, files). Run by CTest
# (runtime_umbrella_includes) as: cmake -DCXX=... -DINCLUDES=dir|dir|... -DWORK_DIR=... -P this file.
cmake_minimum_required(VERSION 3.16)
# Everything in tooling/ is tooling (the folder is the rule), and so is the tooling umbrella.
set(tooling_headers tooling.hpp)
string(REPLACE "|" ";" include_dirs "${INCLUDES}")
set(flags -std=c++17 -M -MG)
foreach(dir IN LISTS include_dirs)
  list(APPEND flags "-I${dir}")
endforeach()
file(WRITE "${WORK_DIR}/runtime_umbrella.cpp" "#include <albertner/albertner.hpp>\n")
execute_process(COMMAND "${CXX}" ${flags} "${WORK_DIR}/runtime_umbrella.cpp" OUTPUT_VARIABLE deps
                ERROR_VARIABLE errors RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${CXX} -M failed (${rc}): ${errors}")
endif()
string(REGEX REPLACE "[ \\\\\n]+" ";" deps "${deps}")
set(albertner_headers 0)
set(reached "")
foreach(dep IN LISTS deps)
  string(REGEX REPLACE "/[^/]+/\\.\\./" "/" dep "${dep}") # ner/../status.hpp
  if(dep MATCHES "include/albertner/(.+\\.hpp)$")
    math(EXPR albertner_headers "${albertner_headers} + 1")
    set(header "${CMAKE_MATCH_1}")
    if(header IN_LIST tooling_headers OR header MATCHES "^tooling/")
      list(APPEND reached "${header}")
    endif()
  endif()
endforeach()
if(albertner_headers LESS 5)
  message(FATAL_ERROR "found only ${albertner_headers} albertner headers in the dependencies: ${deps}")
endif()
if(reached)
  message(FATAL_ERROR "<albertner/albertner.hpp> reaches tooling headers: ${reached}")
endif()
message(STATUS "<albertner/albertner.hpp> reaches ${albertner_headers} albertner headers, no tooling")
