/* "ok"/"not ok" lines for the unit tests that check one value at a time;
 * 'failures' counts the bad ones for main's exit status.  Each test
 * program includes it once. */
#ifndef BRFLOW_TEST_REPORT_H
#define BRFLOW_TEST_REPORT_H

#include <stdbool.h>
#include <stdio.h>

static int failures;

static void report(bool good, const char *name, const char *got)
{
	if (good) {
		printf("ok - %s\n", name);
		return;
	}
	printf("not ok - %s: got '%s'\n", name, got ? got : "(null)");
	failures++;
}

#endif
