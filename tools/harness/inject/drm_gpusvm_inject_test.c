// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Harness self-test, never part of the kernel patches: built only with
 * "make check INJECT=warn|fail|both" to prove that a kernel WARN and a
 * failing KUnit case each make the run fail.
 */

#include <linux/bug.h>
#include <linux/string.h>

#include <kunit/test.h>

#include "drm_gpusvm_inject.h"

static void drm_test_gpusvm_inject_warn(struct kunit *test)
{
	if (!strcmp(GPUSVM_INJECT, "warn") || !strcmp(GPUSVM_INJECT, "both"))
		WARN(1, "drm_gpusvm harness: injected warning\n");
	else
		kunit_skip(test, "INJECT=%s does not ask for a WARN", GPUSVM_INJECT);
}

static void drm_test_gpusvm_inject_fail(struct kunit *test)
{
	if (!strcmp(GPUSVM_INJECT, "fail") || !strcmp(GPUSVM_INJECT, "both"))
		KUNIT_FAIL(test, "injected failing case");
	else
		kunit_skip(test, "INJECT=%s does not ask for a failure", GPUSVM_INJECT);
}

static struct kunit_case drm_gpusvm_inject_cases[] = {
	KUNIT_CASE(drm_test_gpusvm_inject_warn),
	KUNIT_CASE(drm_test_gpusvm_inject_fail),
	{}
};

static struct kunit_suite drm_gpusvm_inject_suite = {
	.name = "drm_gpusvm_harness_inject",
	.test_cases = drm_gpusvm_inject_cases,
};

kunit_test_suite(drm_gpusvm_inject_suite);

MODULE_DESCRIPTION("drm_gpusvm harness failure injection");
MODULE_LICENSE("Dual MIT/GPL");
