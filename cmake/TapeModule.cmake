# tape_add_module(<target> NAME <name> SOURCES <src>... [PUBLIC <lib>...] [PRIVATE <lib>...]
#                 [OPTIONS <flag>...])
# One library module of tape: the static library <target> (alias and export name tape::<name>),
# its public headers in include/tape/<name>/ beside the calling CMakeLists.txt, compiled with
# -Wall -Wextra plus OPTIONS, installed and exported in tapeTargets.
function(tape_add_module target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "NAME" "SOURCES;PUBLIC;PRIVATE;OPTIONS")
  add_library(${target} ${arg_SOURCES})
  add_library(tape::${arg_NAME} ALIAS ${target})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${target} PUBLIC ${arg_PUBLIC} PRIVATE ${arg_PRIVATE})
  target_compile_options(${target} PRIVATE -Wall -Wextra ${arg_OPTIONS})
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON EXPORT_NAME ${arg_NAME})
  install(TARGETS ${target} EXPORT tapeTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY include/tape/${arg_NAME} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tape)
endfunction()
