/* Replays a fuzz harness's corpus without libFuzzer, so that `make check`
 * (built with gcc, also under ASan+UBSan by `make asan`) runs every seed and
 * every input that once broke brflow through the harness's checks.
 *
 *   tests/fuzz/fuzz_NAME_replay DIR...
 *
 * Runs LLVMFuzzerTestOneInput once per regular file in each DIR, in name
 * order, and prints one result line per directory.  A harness reports a
 * broken property by aborting, which the test runner counts as a failure
 * named after the program. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Reads all of 'path' into a buffer of exactly its size (so that ASan sees
 * any read past the input's end).  NULL on error. */
static uint8_t *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	struct stat st;

	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) || st.st_size < 0)
		goto out;
	*size = (size_t)st.st_size;
	buf = malloc(*size ? *size : 1);
	if (buf && *size && fread(buf, 1, *size, f) != *size) {
		free(buf);
		buf = NULL;
	}
out:
	fclose(f);
	return buf;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Runs every regular file of 'dir'; the number run, or -1. */
static int replay_dir(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name), run = 0;

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		uint8_t *data;
		size_t size;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		free(names[i]);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		data = read_file(path, &size);
		if (!data) {
			fprintf(stderr, "replay: cannot read %s\n", path);
			run = -1;
			continue;
		}
		LLVMFuzzerTestOneInput(data, size);
		free(data);
		if (run >= 0)
			run++;
	}
	free(names);
	return run;
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR...\n", self);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		int n = replay_dir(argv[i]);

		if (n <= 0) {
			printf("not ok - %s: %s: %s\n", self, argv[i],
			       n < 0 ? "cannot read the corpus" : "no inputs");
			failed = 1;
			continue;
		}
		printf("ok - %s: %d inputs of %s\n", self, n, argv[i]);
	}
	return failed;
}
