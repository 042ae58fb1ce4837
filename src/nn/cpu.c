/*
 * cpu.c - choose the kernels once, from what this CPU can do.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nn/kernels.h"

static const fu_kernels *chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static int force_scalar(void)
{
    const char *v = getenv("FACEUP_FORCE_SCALAR");
    return v && *v && strcmp(v, "0") != 0;
}

static void choose(void)
{
    chosen = &fu_kernels_ref;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (!force_scalar() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        chosen = &fu_kernels_avx2;
#endif
}

const fu_kernels *fu_kernels_best(void)
{
    pthread_once(&chosen_once, choose);
    return chosen;
}
