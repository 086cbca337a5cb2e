/* What one thread wake-up costs on this machine: two threads hand a turn back and forth
 * through a mutex + condition variable (every hand-off wakes a sleeping thread), first pinned
 * to two different CPUs (the waker must wake the other CPU), then both pinned to one CPU. bench/run.sh records it with the machine, because in
 * "await each send" mode a language package pays such wake-ups for every message (see
 * bench/ANALYSIS.md). Prints one JSON line: microseconds per wake-up (one hand-off).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int turn;
static const int ROUNDS = 50000;

static void pass(int mine, int next) {
    pthread_mutex_lock(&lock);
    while (turn != mine) pthread_cond_wait(&cond, &lock);
    turn = next;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
}

static void *other(void *arg) {
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) pass(1, 0);
    return NULL;
}

static void pin(pthread_t t, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(t, sizeof set, &set);
}

/* Microseconds per hand-off, this thread on CPU `mine`, the other on CPU `theirs`. */
static double measure(int mine, int theirs) {
    pthread_t t;
    turn = 0;
    pin(pthread_self(), mine);
    pthread_create(&t, NULL, other, NULL);
    pin(t, theirs);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < ROUNDS; i++) pass(0, 1);
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(t, NULL);
    double us = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
    return us / ROUNDS / 2;
}

int main(void) {
    double cross = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? measure(0, 1) : -1;
    double same = measure(0, 0);
    printf("{\"wakeup_us_cross_cpu\":%.2f,\"wakeup_us_same_cpu\":%.2f}\n", cross, same);
    return 0;
}
