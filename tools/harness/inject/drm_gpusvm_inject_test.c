// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Harness self-test, never part of the kernel patches: built only with
 * "make check INJECT=<list>" (or "make inject-check", INJECT=all) to prove
 * that each gate of the summary fails the run. GPUSVM_INJECT is a
 * comma-separated list; a case not asked for passes without doing anything,
 * so that it cannot trip another gate.
 */

#include <linux/bug.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <kunit/test.h>

#include "drm_gpusvm_inject.h"

static bool injected(const char *what)
{
	const char *p = GPUSVM_INJECT;
	size_t len = strlen(what);

	while (*p) {
		const char *end = strchrnul(p, ',');

		if ((end - p == len && !strncmp(p, what, len)) ||
		    (end - p == 3 && !strncmp(p, "all", 3)))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

static void drm_test_gpusvm_inject_warn(struct kunit *test)
{
	if (injected("warn"))
		WARN(1, "drm_gpusvm harness: injected warning\n");
}

static void drm_test_gpusvm_inject_fail(struct kunit *test)
{
	if (injected("fail"))
		KUNIT_FAIL(test, "injected failing case");
}

static void drm_test_gpusvm_inject_skip(struct kunit *test)
{
	if (injected("skip"))
		kunit_skip(test, "injected skip, in no allow-list");
}

/* Never freed: the kmemleak scan after KUnit must report it. */
static void drm_test_gpusvm_inject_leak(struct kunit *test)
{
	void *leaked;

	if (!injected("leak"))
		return;
	leaked = kmalloc(96, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, leaked);
}

static struct kunit_case drm_gpusvm_inject_cases[] = {
	KUNIT_CASE(drm_test_gpusvm_inject_warn),
	KUNIT_CASE(drm_test_gpusvm_inject_fail),
	KUNIT_CASE(drm_test_gpusvm_inject_skip),
	KUNIT_CASE(drm_test_gpusvm_inject_leak),
	{}
};

static struct kunit_suite drm_gpusvm_inject_suite = {
	.name = "drm_gpusvm_harness_inject",
	.test_cases = drm_gpusvm_inject_cases,
};

kunit_test_suite(drm_gpusvm_inject_suite);

MODULE_DESCRIPTION("drm_gpusvm harness failure injection");
MODULE_LICENSE("Dual MIT/GPL");
