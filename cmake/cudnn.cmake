# cuDNN 9 and the header-only cudnn-frontend (the cuDNN kernels: src/kernels/cuda/cudnn_*.cc).
# Included by cmake/cuda.cmake once the CUDA toolkit is known; sets KILN_HAVE_CUDNN and, when ON,
# the target kiln_cudnn (library + both include directories) and KILN_CUDNN_SOURCES.
#
# cuDNN (cudnn.h + libcudnn) is looked for in two places, in order:
#   1. the CUDA toolkit, when it has cudnn.h (a system-wide cuDNN install next to it);
#   2. the Python environment's wheel, site-packages/nvidia/cudnn/{include,lib} (torch's
#      dependency nvidia-cudnn-cu13: dev machines, CI and the GPU machine's /opt/torch/.venv). Its
#      lib/ has libcudnn.so.9 but no unversioned .so, so the library is linked by its full path, and
#      `nvidia` is a namespace package, so the directory comes from sysconfig's platlib, not from
#      importing it. cuDNN's own sub-libraries (libcudnn_engines_*.so.9, ...) are dlopen'ed by
#      libcudnn from its own directory.
# cudnn-frontend (cudnn_frontend.h) comes from -DKILN_CUDNN_FRONTEND_INCLUDE=<dir>, else from the
# pip wheel nvidia-cudnn-frontend, which puts its headers in <site-packages>/include/
# (scripts/lib/setup.sh installs it into .venv; the GPU machine gets the wheel through .gpu-deps/).
# Either missing: KILN_HAVE_CUDNN=0, the cuDNN kernels are not built, and this file says why.
set(KILN_HAVE_CUDNN OFF)
set(KILN_CUDNN_SOURCES "")
set(KILN_CUDNN_FRONTEND_INCLUDE "" CACHE PATH
    "directory holding cudnn_frontend.h (default: the Python environment's site-packages/include)")
if(KILN_HAVE_CUDA)
  # The Python environment's platlib (site-packages), for both wheels.
  set(kiln_cudnn_py "${Python_EXECUTABLE}")
  if(NOT kiln_cudnn_py)
    find_program(KILN_CUDNN_PYTHON NAMES python3 python)
    set(kiln_cudnn_py "${KILN_CUDNN_PYTHON}")
  endif()
  set(kiln_cudnn_site "")
  if(kiln_cudnn_py)
    execute_process(
      COMMAND "${kiln_cudnn_py}" -c "import sysconfig; print(sysconfig.get_paths()['platlib'])"
      OUTPUT_VARIABLE kiln_cudnn_site OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
      RESULT_VARIABLE kiln_cudnn_site_rc)
    if(NOT kiln_cudnn_site_rc EQUAL 0)
      set(kiln_cudnn_site "")
    endif()
  endif()

  # 1. cuDNN in the toolkit, 2. in the wheel.
  set(kiln_cudnn_include "")
  set(kiln_cudnn_library "")
  set(kiln_cudnn_from "")
  find_path(KILN_CUDNN_TOOLKIT_INCLUDE cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} NO_DEFAULT_PATH)
  find_library(KILN_CUDNN_TOOLKIT_LIBRARY NAMES cudnn libcudnn.so.9
               HINTS ${CUDAToolkit_LIBRARY_DIR} NO_DEFAULT_PATH)
  if(KILN_CUDNN_TOOLKIT_INCLUDE AND KILN_CUDNN_TOOLKIT_LIBRARY)
    set(kiln_cudnn_include "${KILN_CUDNN_TOOLKIT_INCLUDE}")
    set(kiln_cudnn_library "${KILN_CUDNN_TOOLKIT_LIBRARY}")
    set(kiln_cudnn_from "the CUDA toolkit")
  elseif(kiln_cudnn_site)
    find_path(KILN_CUDNN_WHEEL_INCLUDE cudnn.h PATHS "${kiln_cudnn_site}/nvidia/cudnn/include"
              NO_DEFAULT_PATH)
    find_library(KILN_CUDNN_WHEEL_LIBRARY NAMES libcudnn.so.9 cudnn
                 PATHS "${kiln_cudnn_site}/nvidia/cudnn/lib" NO_DEFAULT_PATH)
    if(KILN_CUDNN_WHEEL_INCLUDE AND KILN_CUDNN_WHEEL_LIBRARY)
      set(kiln_cudnn_include "${KILN_CUDNN_WHEEL_INCLUDE}")
      set(kiln_cudnn_library "${KILN_CUDNN_WHEEL_LIBRARY}")
      set(kiln_cudnn_from "the Python environment")
    endif()
  endif()

  # cudnn-frontend.
  set(kiln_cudnn_fe "")
  if(KILN_CUDNN_FRONTEND_INCLUDE)
    if(EXISTS "${KILN_CUDNN_FRONTEND_INCLUDE}/cudnn_frontend.h")
      set(kiln_cudnn_fe "${KILN_CUDNN_FRONTEND_INCLUDE}")
    else()
      message(WARNING "kiln: KILN_CUDNN_FRONTEND_INCLUDE=${KILN_CUDNN_FRONTEND_INCLUDE} has no "
                      "cudnn_frontend.h")
    endif()
  elseif(kiln_cudnn_site AND EXISTS "${kiln_cudnn_site}/include/cudnn_frontend.h")
    set(kiln_cudnn_fe "${kiln_cudnn_site}/include")
  endif()

  # NVRTC: the frontend's headers call it (its experimental runtime-compiled engines), so the
  # kernels need nvrtc.h and libnvrtc: the toolkit's (GPU machine), else the Python environment's
  # nvidia/cu13 wheel (dev machines; only nvrtc.h is staged, as for cuBLASLt).
  set(kiln_cudnn_nvrtc "")
  find_path(KILN_NVRTC_TOOLKIT_INCLUDE nvrtc.h HINTS ${CUDAToolkit_INCLUDE_DIRS} NO_DEFAULT_PATH)
  if(TARGET CUDA::nvrtc AND KILN_NVRTC_TOOLKIT_INCLUDE)
    set(kiln_cudnn_nvrtc CUDA::nvrtc)
  elseif(kiln_cudnn_site)
    find_library(KILN_NVRTC_WHEEL_LIBRARY NAMES libnvrtc.so.13 nvrtc
                 PATHS "${kiln_cudnn_site}/nvidia/cu13/lib" NO_DEFAULT_PATH)
    find_path(KILN_NVRTC_WHEEL_INCLUDE nvrtc.h PATHS "${kiln_cudnn_site}/nvidia/cu13/include"
              NO_DEFAULT_PATH)
    if(KILN_NVRTC_WHEEL_LIBRARY AND KILN_NVRTC_WHEEL_INCLUDE)
      set(kiln_nvrtc_stage "${CMAKE_BINARY_DIR}/nvrtc_include")
      file(MAKE_DIRECTORY "${kiln_nvrtc_stage}")
      file(COPY_FILE "${KILN_NVRTC_WHEEL_INCLUDE}/nvrtc.h" "${kiln_nvrtc_stage}/nvrtc.h"
           ONLY_IF_DIFFERENT)
      add_library(kiln_cudnn_nvrtc SHARED IMPORTED)
      set_target_properties(kiln_cudnn_nvrtc PROPERTIES
        IMPORTED_LOCATION "${KILN_NVRTC_WHEEL_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${kiln_nvrtc_stage}")
      get_filename_component(kiln_nvrtc_dir "${KILN_NVRTC_WHEEL_LIBRARY}" DIRECTORY)
      list(APPEND CMAKE_INSTALL_RPATH "${kiln_nvrtc_dir}")
      set(kiln_cudnn_nvrtc kiln_cudnn_nvrtc)
    endif()
  endif()

  if(kiln_cudnn_library AND kiln_cudnn_fe AND NOT kiln_cudnn_nvrtc)
    message(STATUS "kiln: NVRTC (nvrtc.h + libnvrtc, which cudnn-frontend needs) not found: "
                   "building without the cuDNN kernels")
  elseif(kiln_cudnn_library AND kiln_cudnn_fe)
    add_library(kiln_cudnn SHARED IMPORTED)
    set_target_properties(kiln_cudnn PROPERTIES
      IMPORTED_LOCATION "${kiln_cudnn_library}"
      INTERFACE_INCLUDE_DIRECTORIES "${kiln_cudnn_include};${kiln_cudnn_fe}"
      INTERFACE_LINK_LIBRARIES "${kiln_cudnn_nvrtc}")
    get_filename_component(kiln_cudnn_dir "${kiln_cudnn_library}" DIRECTORY)
    list(APPEND CMAKE_INSTALL_RPATH "${kiln_cudnn_dir}")
    set(CMAKE_INSTALL_RPATH_USE_LINK_PATH ON)
    file(GLOB KILN_CUDNN_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/kernels/cuda/cudnn_*.cc)
    set(KILN_HAVE_CUDNN ON)
    message(STATUS "kiln: cuDNN from ${kiln_cudnn_from} (${kiln_cudnn_library}), "
                   "cudnn-frontend from ${kiln_cudnn_fe}")
  elseif(NOT kiln_cudnn_library)
    message(STATUS "kiln: cuDNN not found (neither cudnn.h in the CUDA toolkit nor the Python "
                   "environment's nvidia/cudnn): building without the cuDNN kernels")
  else()
    message(STATUS "kiln: cudnn-frontend not found (pip install nvidia-cudnn-frontend, or "
                   "-DKILN_CUDNN_FRONTEND_INCLUDE=<dir>): building without the cuDNN kernels")
  endif()
endif()
