# CUDA support: enabled when nvcc is found (KILN_CUDA=AUTO) or forced (ON). CUDA sources live in
# src/**/*.cu and are compiled for sm_90 into kiln_runtime. Without nvcc, kiln is CPU-only and
# KILN_HAVE_CUDA is 0; nothing CUDA is ever needed to run kiln on the CPU.
#
# cuBLASLt (the GEMM kernels, src/kernels/cuda/gemm.cu) is looked for in two places, in order:
#   1. the CUDA toolkit (CUDA::cublasLt from find_package(CUDAToolkit), with cublasLt.h): the GPU
#      machine's /usr/local/cuda;
#   2. the Python environment's CUDA wheels (site-packages/nvidia/cu13/{include,lib}, as torch's
#      wheel installs them): dev machines and CI, whose toolkit has nvcc and cudart only. That lib/
#      has libcublasLt.so.13 but no unversioned .so, and its include/ also holds a copy of the CUDA
#      runtime headers, so only cublasLt.h and cublas_api.h are staged into the build tree (the
#      toolkit's own runtime headers stay the ones nvcc sees).
# Neither found: kiln builds without the GEMM family (KILN_HAVE_CUBLASLT=0) and says so. The
# library is linked by its full path; CMake's build rpath covers the build tree, and installed
# targets keep their link directories as install rpath (CMAKE_INSTALL_RPATH_USE_LINK_PATH) so
# that the wheel's kiln._C and the tools find it at run time in both places. (Inside Python, torch
# has usually loaded libcublasLt.so.13 already, and the loader reuses it by its soname.)
set(KILN_HAVE_CUDA OFF)
set(KILN_HAVE_CUBLASLT OFF)
if(NOT KILN_CUDA STREQUAL "OFF")
  # nvcc's host compiler is the C++ compiler unless CUDAHOSTCXX says otherwise. With another one
  # (the GPU machine's /opt/gcc/bin/g++), CMake links that compiler's static libstdc++ pieces into
  # kiln._C next to the process's shared libstdc++, and iostreams crash (seen 2026-11-27);
  # scripts/gpu-check sets both to /usr/bin/g++.
  if(NOT DEFINED CMAKE_CUDA_HOST_COMPILER AND NOT DEFINED ENV{CUDAHOSTCXX})
    set(CMAKE_CUDA_HOST_COMPILER "${CMAKE_CXX_COMPILER}" CACHE FILEPATH "nvcc's host compiler")
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    # kiln's headers are C++20 (std::span); CUDA sources include them.
    if(NOT DEFINED CMAKE_CUDA_STANDARD)
      set(CMAKE_CUDA_STANDARD 20)
      set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit)
    if(CUDAToolkit_FOUND)
      set(KILN_HAVE_CUDA ON)
    endif()
  elseif(KILN_CUDA STREQUAL "ON")
    message(FATAL_ERROR "KILN_CUDA=ON but no CUDA compiler was found")
  endif()
endif()

# ---- cuBLASLt -----------------------------------------------------------------------------------
if(KILN_HAVE_CUDA)
  # 1. The toolkit.
  find_path(KILN_CUBLASLT_TOOLKIT_INCLUDE cublasLt.h HINTS ${CUDAToolkit_INCLUDE_DIRS}
            NO_DEFAULT_PATH)
  if(TARGET CUDA::cublasLt AND KILN_CUBLASLT_TOOLKIT_INCLUDE)
    add_library(kiln_cublaslt INTERFACE)
    target_link_libraries(kiln_cublaslt INTERFACE CUDA::cublasLt)
    set(KILN_HAVE_CUBLASLT ON)
    message(STATUS "kiln: cuBLASLt from the CUDA toolkit (${CUDAToolkit_LIBRARY_DIR})")
  else()
    # 2. The Python environment's nvidia/cu13 wheel directory.
    set(kiln_py "${Python_EXECUTABLE}")
    if(NOT kiln_py)
      find_program(KILN_CUBLASLT_PYTHON NAMES python3 python)
      set(kiln_py "${KILN_CUBLASLT_PYTHON}")
    endif()
    set(kiln_site "")
    if(kiln_py)
      execute_process(
        COMMAND "${kiln_py}" -c "import sysconfig; print(sysconfig.get_paths()['platlib'])"
        OUTPUT_VARIABLE kiln_site OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
        RESULT_VARIABLE kiln_site_rc)
      if(NOT kiln_site_rc EQUAL 0)
        set(kiln_site "")
      endif()
    endif()
    if(kiln_site)
      find_library(KILN_CUBLASLT_WHEEL_LIBRARY NAMES libcublasLt.so.13 cublasLt
                   PATHS "${kiln_site}/nvidia/cu13/lib" NO_DEFAULT_PATH)
      find_path(KILN_CUBLASLT_WHEEL_INCLUDE cublasLt.h PATHS "${kiln_site}/nvidia/cu13/include"
                NO_DEFAULT_PATH)
    endif()
    if(KILN_CUBLASLT_WHEEL_LIBRARY AND KILN_CUBLASLT_WHEEL_INCLUDE)
      set(kiln_stage "${CMAKE_BINARY_DIR}/cublaslt_include")
      file(MAKE_DIRECTORY "${kiln_stage}")
      foreach(header cublasLt.h cublas_api.h)
        file(COPY_FILE "${KILN_CUBLASLT_WHEEL_INCLUDE}/${header}" "${kiln_stage}/${header}"
             ONLY_IF_DIFFERENT)
      endforeach()
      # An imported shared library: its directory goes into the rpath like any other.
      add_library(kiln_cublaslt SHARED IMPORTED)
      set_target_properties(kiln_cublaslt PROPERTIES
        IMPORTED_LOCATION "${KILN_CUBLASLT_WHEEL_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${kiln_stage}")
      set(KILN_HAVE_CUBLASLT ON)
      # Installed binaries (the kiln CLI in .venv/bin) find it through their rpath: a library
      # linked by full path does not count as a link directory for *_USE_LINK_PATH.
      get_filename_component(kiln_cublaslt_dir "${KILN_CUBLASLT_WHEEL_LIBRARY}" DIRECTORY)
      list(APPEND CMAKE_INSTALL_RPATH "${kiln_cublaslt_dir}")
      message(STATUS "kiln: cuBLASLt from the Python environment (${KILN_CUBLASLT_WHEEL_LIBRARY})")
    endif()
  endif()
  if(KILN_HAVE_CUBLASLT)
    set(CMAKE_INSTALL_RPATH_USE_LINK_PATH ON)
  else()
    message(STATUS "kiln: cuBLASLt not found (neither in the CUDA toolkit nor in the Python "
                   "environment's nvidia/cu13): building without the CUDA GEMM kernels")
  endif()
endif()
# ---- cuDNN + cudnn-frontend (cmake/cudnn.cmake: the conv and attention kernels on cuDNN) -------
include(${CMAKE_CURRENT_LIST_DIR}/cudnn.cmake)
message(STATUS "kiln: CUDA backend ${KILN_HAVE_CUDA}, cuBLASLt ${KILN_HAVE_CUBLASLT}, "
               "cuDNN ${KILN_HAVE_CUDNN}")

function(kiln_add_cuda_sources target)
  if(KILN_HAVE_CUDA)
    file(GLOB_RECURSE cuda_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/*.cu)
    if(cuda_sources)
      target_sources(${target} PRIVATE ${cuda_sources})
      # The shared runtime: torch loads libcudart.so anyway, and the static one carries its own
      # copies of C++ library code that broke iostreams inside kiln._C on the GPU machine.
      target_link_libraries(${target} PUBLIC CUDA::cudart)
    endif()
    target_compile_definitions(${target} PUBLIC KILN_HAVE_CUDA=1)
    set_target_properties(${target} PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
  else()
    target_compile_definitions(${target} PUBLIC KILN_HAVE_CUDA=0)
  endif()
  if(KILN_HAVE_CUBLASLT)
    target_link_libraries(${target} PUBLIC kiln_cublaslt)
    target_compile_definitions(${target} PUBLIC KILN_HAVE_CUBLASLT=1)
  else()
    target_compile_definitions(${target} PUBLIC KILN_HAVE_CUBLASLT=0)
  endif()
  # The cuDNN kernels are host code (.cc, compiled by the C++ compiler) but need the CUDA runtime
  # and cuDNN headers: built only here, never by the CPU-only source glob.
  if(KILN_HAVE_CUDNN)
    target_sources(${target} PRIVATE ${KILN_CUDNN_SOURCES})
    target_link_libraries(${target} PUBLIC kiln_cudnn)
    target_compile_definitions(${target} PUBLIC KILN_HAVE_CUDNN=1)
  else()
    target_compile_definitions(${target} PUBLIC KILN_HAVE_CUDNN=0)
  endif()
endfunction()
