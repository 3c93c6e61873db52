/*
 * dirty_child.c - the process test_dirty.c tracks (built static, run natively
 * even when the test runs under valgrind).  Prints the address of its 16 MiB
 * buffer, then for every byte k read from stdin writes pages k*100 ..
 * k*100+9 of it and answers one byte; exits at end of input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SIZE (16u << 20)
#define PAGE 4096u

int main(void)
{
	unsigned char *mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	memset(mem, 1, SIZE);
	printf("%p\n", (void *)mem);
	fflush(stdout);
	unsigned char k;
	while (read(0, &k, 1) == 1) {
		for (unsigned i = 0; i < 10; i++)
			mem[(k * 100u + i) * PAGE] ^= 0xff;
		if (write(1, &k, 1) != 1)
			return 1;
	}
	return 0;
}
