# Checks that tape can be used from another CMake project, two ways. Run with cmake -P:
#   cmake -DSOURCE_DIR=<tape source> -DBUILD_DIR=<tape build> -DWORK_DIR=<scratch dir>
#         [-DGENERATOR=<cmake generator>] [-DCOMPILER=<c++ compiler>] -P run_consumer_test.cmake
# 1. find_package: `cmake --install BUILD_DIR --prefix WORK_DIR/prefix`, checks the installed files
#    and the exported targets, then configures, builds and runs tests/consumer against the prefix:
#    app (the core) and modules_app (tape::nn and the modules io, data, summary, metrics), whose
#    PNG grid, TensorBoard event file and checkpoint are checked here.
# 2. add_subdirectory: configures a copy of tests/consumer with TAPE_CONSUMER_USE_SUBDIR=ON, which
#    pulls in SOURCE_DIR with add_subdirectory(... EXCLUDE_FROM_ALL) (every module's CMake code and
#    targets), then builds and runs its app.
# Any failing step stops the script with message(FATAL_ERROR) showing the step's output.
cmake_minimum_required(VERSION 3.20)

foreach(var SOURCE_DIR BUILD_DIR WORK_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${BUILD_DIR}/CMakeCache.txt")
  message(FATAL_ERROR "BUILD_DIR='${BUILD_DIR}' is not a configured tape build tree")
endif()

# Runs one step; on a non-zero exit (or a failure to start) stops with the captured output.
function(run_step name)
  message(STATUS "consumer test: ${name}")
  execute_process(COMMAND ${ARGN}
    RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT result EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "consumer test: step '${name}' failed (exit ${result})\n"
                        "command: ${command}\n--- output ---\n${output}")
  endif()
  string(STRIP "${output}" output)
  set(step_output "${output}" PARENT_SCOPE)
endfunction()

# Settings of the tape build being installed.
load_cache("${BUILD_DIR}" READ_WITH_PREFIX MAIN_
  CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR CMAKE_CXX_COMPILER_LAUNCHER TAPE_SANITIZE)
set(libdir "${MAIN_CMAKE_INSTALL_LIBDIR}")
if(libdir STREQUAL "")
  set(libdir lib)
endif()
set(includedir "${MAIN_CMAKE_INSTALL_INCLUDEDIR}")
if(includedir STREQUAL "")
  set(includedir include)
endif()

set(common_args -DCMAKE_BUILD_TYPE=Release)
if(DEFINED GENERATOR AND NOT GENERATOR STREQUAL "")
  list(APPEND common_args -G "${GENERATOR}")
endif()
if(DEFINED COMPILER AND NOT COMPILER STREQUAL "")
  list(APPEND common_args "-DCMAKE_CXX_COMPILER=${COMPILER}")
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

# Finds a consumer executable (single- or multi-config generators); `name` defaults to app.
function(find_app build_dir out_var)
  set(name app)
  if(ARGC GREATER 2)
    set(name "${ARGV2}")
  endif()
  foreach(candidate "${build_dir}/${name}" "${build_dir}/Release/${name}")
    if(EXISTS "${candidate}")
      set(${out_var} "${candidate}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "consumer test: no ${name} executable under ${build_dir}")
endfunction()

# ---------------------------------------------------------------------------------------------
# 1. find_package(tape CONFIG) on an installed tape
# ---------------------------------------------------------------------------------------------
run_step("install tape into ${prefix}" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}")

# The installed files.
file(GLOB source_headers RELATIVE "${SOURCE_DIR}/tape/include/tape" "${SOURCE_DIR}/tape/include/tape/*.h")
if(NOT source_headers)
  message(FATAL_ERROR "consumer test: no headers found in ${SOURCE_DIR}/tape/include/tape")
endif()
set(expected_files
  "${libdir}/libtape.a"
  "${libdir}/cmake/tape/tapeConfig.cmake"
  "${libdir}/cmake/tape/tapeConfigVersion.cmake"
  "${libdir}/cmake/tape/tapeTargets.cmake")
foreach(header IN LISTS source_headers)
  list(APPEND expected_files "${includedir}/tape/${header}")
endforeach()
# tape::nn and the modules: a library and the headers of each.
set(module_include_dirs nn "nn/include/tape/nn" io "tape/io/include/tape/io" data "tape/data/include/tape/data"
    summary "tape/summary/include/tape/summary" metrics "tape/metrics/include/tape/metrics")
set(modules "")
while(module_include_dirs)
  list(POP_FRONT module_include_dirs module dir)
  list(APPEND modules ${module})
  file(GLOB module_headers RELATIVE "${SOURCE_DIR}/${dir}" "${SOURCE_DIR}/${dir}/*.h")
  if(NOT module_headers)
    message(FATAL_ERROR "consumer test: no headers found in ${SOURCE_DIR}/${dir}")
  endif()
  list(APPEND expected_files "${libdir}/libtape_${module}.a")
  foreach(header IN LISTS module_headers)
    list(APPEND expected_files "${includedir}/tape/${module}/${header}")
  endforeach()
endwhile()
foreach(file IN LISTS expected_files)
  if(NOT EXISTS "${prefix}/${file}")
    message(FATAL_ERROR "consumer test: cmake --install did not install ${file} into ${prefix}")
  endif()
endforeach()
list(LENGTH source_headers header_count)
message(STATUS "consumer test: installed ${libdir}/libtape.a, ${header_count} headers, CMake package files")

# The package: OpenMP comes in through find_dependency, the target links OpenMP::OpenMP_CXX, and
# nothing refers to the build or source tree (Eigen is a private, build-only dependency).
file(READ "${prefix}/${libdir}/cmake/tape/tapeConfig.cmake" config_text)
foreach(dependency OpenMP PNG GIF ZLIB OpenSSL)
  if(NOT config_text MATCHES "find_dependency\\(${dependency}")
    message(FATAL_ERROR "consumer test: tapeConfig.cmake does not find_dependency(${dependency}):\n${config_text}")
  endif()
endforeach()
file(GLOB target_files "${prefix}/${libdir}/cmake/tape/tapeTargets*.cmake")
set(targets_text "")
foreach(file IN LISTS target_files)
  file(READ "${file}" text)
  string(APPEND targets_text "${text}")
endforeach()
if(NOT targets_text MATCHES "INTERFACE_LINK_LIBRARIES \"[^\"]*OpenMP::OpenMP_CXX")
  message(FATAL_ERROR "consumer test: the exported tape::tape does not link OpenMP::OpenMP_CXX")
endif()
foreach(module IN LISTS modules)
  if(NOT targets_text MATCHES "add_library\\(tape::${module} STATIC IMPORTED\\)")
    message(FATAL_ERROR "consumer test: the package does not export tape::${module}")
  endif()
endforeach()
if(targets_text MATCHES "Eigen3::")
  message(FATAL_ERROR "consumer test: the exported tape::tape refers to Eigen3 (it is a private, build-only dependency)")
endif()
foreach(tree "${SOURCE_DIR}" "${BUILD_DIR}")
  string(FIND "${targets_text}" "${tree}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "consumer test: the exported targets refer to ${tree}")
  endif()
endforeach()

# A sanitized libtape.a needs the sanitizer runtimes in whatever links it; the consumer's plot
# loads fontconfig, whose global caches LeakSanitizer would report (tests/sanitizers/lsan.supp).
set(find_package_args "")
if(MAIN_TAPE_SANITIZE STREQUAL "thread")
  list(APPEND find_package_args "-DCMAKE_CXX_FLAGS=-fsanitize=thread -fno-omit-frame-pointer"
                                "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread")
elseif(MAIN_TAPE_SANITIZE)
  list(APPEND find_package_args "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-omit-frame-pointer"
                                "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined")
  set(ENV{LSAN_OPTIONS} "suppressions=${SOURCE_DIR}/tests/sanitizers/lsan.supp")
endif()

set(fp_build "${WORK_DIR}/build")
run_step("configure tests/consumer with find_package(tape)"
  "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/consumer" -B "${fp_build}" ${common_args} ${find_package_args}
  "-DCMAKE_PREFIX_PATH=${prefix}")
load_cache("${fp_build}" READ_WITH_PREFIX FP_ tape_DIR)
get_filename_component(found_dir "${FP_tape_DIR}" REALPATH)
get_filename_component(wanted_dir "${prefix}/${libdir}/cmake/tape" REALPATH)
if(NOT found_dir STREQUAL wanted_dir)
  message(FATAL_ERROR "consumer test: find_package found tape in '${FP_tape_DIR}', not in ${wanted_dir}")
endif()
run_step("build the find_package consumer" "${CMAKE_COMMAND}" --build "${fp_build}" --config Release)
find_app("${fp_build}" fp_app)
run_step("run the find_package consumer" "${fp_app}")
message(STATUS "consumer test: find_package consumer says: ${step_output}")
find_app("${fp_build}" fp_modules_app modules_app)
set(modules_out "${WORK_DIR}/modules_out")
run_step("run the find_package modules consumer" "${fp_modules_app}" "${modules_out}")
message(STATUS "consumer test: find_package modules consumer says: ${step_output}")
file(GLOB event_files "${modules_out}/tensorboard/events.out.tfevents.*")
file(GLOB temporary_files "${modules_out}/*.tmp-*")
if(NOT EXISTS "${modules_out}/grid.png" OR NOT EXISTS "${modules_out}/model.safetensors" OR NOT event_files
   OR temporary_files)
  message(FATAL_ERROR "consumer test: modules_app did not leave grid.png, model.safetensors and a "
                      "tensorboard/events.out.tfevents.* file (and no temporary file) in ${modules_out}")
endif()

# ---------------------------------------------------------------------------------------------
# 2. add_subdirectory(<tape source>) from a copy of tests/consumer outside the source tree
# ---------------------------------------------------------------------------------------------
set(sub_src "${WORK_DIR}/subdir_consumer")
set(sub_build "${WORK_DIR}/subdir_build")
file(COPY "${SOURCE_DIR}/tests/consumer/" DESTINATION "${sub_src}")
set(sub_args "")
if(NOT "${MAIN_CMAKE_CXX_COMPILER_LAUNCHER}" STREQUAL "")
  list(APPEND sub_args "-DCMAKE_CXX_COMPILER_LAUNCHER=${MAIN_CMAKE_CXX_COMPILER_LAUNCHER}")
endif()
run_step("configure the add_subdirectory consumer"
  "${CMAKE_COMMAND}" -S "${sub_src}" -B "${sub_build}" ${common_args} ${sub_args}
  -DTAPE_CONSUMER_USE_SUBDIR=ON "-DTAPE_SOURCE_DIR=${SOURCE_DIR}")
# As a subproject tape must not build its tests or examples.
load_cache("${sub_build}" READ_WITH_PREFIX SUB_ TAPE_BUILD_TESTS TAPE_BUILD_EXAMPLES)
if(SUB_TAPE_BUILD_TESTS OR SUB_TAPE_BUILD_EXAMPLES)
  message(FATAL_ERROR "consumer test: tape as a subproject turned on TAPE_BUILD_TESTS='${SUB_TAPE_BUILD_TESTS}' "
                      "TAPE_BUILD_EXAMPLES='${SUB_TAPE_BUILD_EXAMPLES}' (both should default to OFF)")
endif()
# Only app is built: building modules_app here would compile tape::nn and every module a second
# time; the configure step above has already checked their CMake code and targets as a subproject.
run_step("build the add_subdirectory consumer" "${CMAKE_COMMAND}" --build "${sub_build}" --config Release --target app)
find_app("${sub_build}" sub_app)
run_step("run the add_subdirectory consumer" "${sub_app}")
message(STATUS "consumer test: add_subdirectory consumer says: ${step_output}")

message(STATUS "consumer test: passed (find_package and add_subdirectory)")
