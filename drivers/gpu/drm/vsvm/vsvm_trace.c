// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Copyright (c) 2026 The drm_gpusvm authors
 */

#define CREATE_TRACE_POINTS
#include "vsvm_trace.h"
