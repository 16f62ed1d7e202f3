# ctest parley_links_no_store (see CMakeLists.txt here): fails if the `parley` client
# depends on the server's storage again.
#   BINARY      the parley executable
#   READELF     readelf
#   LINKS_FILE  "parley: …" and "parley_client: …", the CMake targets each links
#   FORBIDDEN   the targets neither may link
cmake_minimum_required(VERSION 3.25)  # script mode: IN_LIST and the other current policies
execute_process(COMMAND ${READELF} -d ${BINARY} OUTPUT_VARIABLE dynamic RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "readelf -d ${BINARY} failed (${rc})")
endif()
string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*\\[([^]]*)\\]" needed "${dynamic}")
if(NOT needed)
  message(FATAL_ERROR "${BINARY}: no NEEDED entries read: is it a dynamic ELF executable?")
endif()
set(failed "")
foreach(entry IN LISTS needed)
  if(entry MATCHES "\\[(librocksdb|libsqlite3|libparley_store)[^]]*\\]")
    list(APPEND failed "${BINARY} needs ${CMAKE_MATCH_1} (${entry})")
  endif()
endforeach()

file(STRINGS ${LINKS_FILE} lines)
list(LENGTH lines count)
if(NOT count EQUAL 2)
  message(FATAL_ERROR "${LINKS_FILE}: expected two lines, read ${count}")
endif()
foreach(line IN LISTS lines)
  string(REGEX MATCH "^([^:]+): (.*)$" _ "${line}")
  set(target ${CMAKE_MATCH_1})
  string(REPLACE " " ";" links "${CMAKE_MATCH_2}")
  foreach(bad IN LISTS FORBIDDEN)
    if(bad IN_LIST links)
      list(APPEND failed "CMake target ${target} links ${bad}")
    endif()
  endforeach()
endforeach()

if(failed)
  list(JOIN failed "\n  " report)
  message(FATAL_ERROR "The parley client depends on the server's storage (issue 11; the "
                      "offline admin commands belong in parley-admin):\n  ${report}")
endif()
message(STATUS "parley needs none of librocksdb, libsqlite3, libparley_store; "
               "parley and parley_client link none of: ${FORBIDDEN}")
