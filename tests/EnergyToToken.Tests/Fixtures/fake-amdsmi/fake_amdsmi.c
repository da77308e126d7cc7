/*
 * A fake AMD SMI for e2t's tests: exports the amdsmi functions e2t calls, with amdsmi.h's (ROCm 6.x) signatures and
 * the leading layout of amdsmi_power_info_t, answering from a script so the real interop path runs without an AMD
 * GPU. Built by the test project with gcc into fake-amdsmi/libamd_smi.so, loaded through E2T_AMDSMI_LIBRARY.
 *
 * Script (read at every amdsmi_init from fake-amdsmi.script beside this library), one directive per line:
 *   init CODE               amdsmi_init returns CODE (default 0)
 *   gpus N                  GPUs on one socket (default 1, at most 8)
 *   energy I C1 C2 ...      energy accumulator (counts) per call, the last one repeated
 *   resolution I UJ         microjoules per count (default 15.3)
 *   power I CURRENT AVERAGE current and average socket power, W (4294967295 = unsupported)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int amdsmi_status_t;
typedef void *amdsmi_socket_handle;
typedef void *amdsmi_processor_handle;

typedef struct {
    uint64_t socket_power;
    uint32_t current_socket_power;
    uint32_t average_socket_power;
    uint64_t gfx_voltage;
    uint64_t soc_voltage;
    uint64_t mem_voltage;
    uint32_t power_limit;
    uint64_t reserved[18];
} amdsmi_power_info_t;

#define MAX_GPUS 8
#define MAX_VALUES 256

static struct gpu {
    uint64_t energy[MAX_VALUES];
    int count, next;
    float resolution;
    uint32_t current, average;
} gpus[MAX_GPUS];
static int gpu_count = 1;
static int init_code = 0;
static int socket_token;

static void load_script(void) {
    memset(gpus, 0, sizeof gpus);
    gpu_count = 1;
    init_code = 0;
    for (int i = 0; i < MAX_GPUS; i++) { gpus[i].resolution = 15.3f; gpus[i].current = 500; gpus[i].average = 480; }
    Dl_info info;
    char path[4096];
    if (!dladdr((void *)load_script, &info) || !info.dli_fname) return;
    snprintf(path, sizeof path, "%s", info.dli_fname);
    char *slash = strrchr(path, '/');
    if (slash) strcpy(slash + 1, "fake-amdsmi.script"); else strcpy(path, "fake-amdsmi.script");
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[4096], word[32];
    while (fgets(line, sizeof line, f)) {
        int used = 0, index, more = 0;
        if (sscanf(line, "%31s%n", word, &used) != 1) continue;
        char *rest = line + used;
        if (strcmp(word, "init") == 0) { init_code = atoi(rest); continue; }
        if (strcmp(word, "gpus") == 0) { gpu_count = atoi(rest); if (gpu_count > MAX_GPUS) gpu_count = MAX_GPUS; continue; }
        if (sscanf(rest, "%d%n", &index, &more) != 1 || index < 0 || index >= MAX_GPUS) continue;
        rest += more;
        struct gpu *g = &gpus[index];
        if (strcmp(word, "energy") == 0) {
            g->count = g->next = 0;
            for (char *t = strtok(rest, " \t\r\n"); t && g->count < MAX_VALUES; t = strtok(NULL, " \t\r\n")) g->energy[g->count++] = strtoull(t, NULL, 10);
        } else if (strcmp(word, "resolution") == 0) {
            g->resolution = strtof(rest, NULL);
        } else if (strcmp(word, "power") == 0) {
            unsigned long c = 0, a = 0;
            sscanf(rest, "%lu %lu", &c, &a);
            g->current = (uint32_t)c;
            g->average = (uint32_t)a;
        }
    }
    fclose(f);
}

amdsmi_status_t amdsmi_init(uint64_t flags) {
    (void)flags;
    load_script();
    return init_code;
}

amdsmi_status_t amdsmi_shut_down(void) { return 0; }

amdsmi_status_t amdsmi_get_socket_handles(uint32_t *count, amdsmi_socket_handle *sockets) {
    if (sockets && *count >= 1) sockets[0] = &socket_token;
    *count = 1;
    return 0;
}

amdsmi_status_t amdsmi_get_processor_handles(amdsmi_socket_handle socket, uint32_t *count, amdsmi_processor_handle *processors) {
    if (socket != &socket_token) return 2;
    if (processors) for (uint32_t i = 0; i < *count && i < (uint32_t)gpu_count; i++) processors[i] = &gpus[i];
    *count = (uint32_t)gpu_count;
    return 0;
}

amdsmi_status_t amdsmi_get_energy_count(amdsmi_processor_handle handle, uint64_t *energy, float *resolution, uint64_t *timestamp) {
    struct gpu *g = handle;
    if (g->count == 0) return 2;
    *energy = g->energy[g->next < g->count ? g->next : g->count - 1];
    if (g->next < g->count) g->next++;
    *resolution = g->resolution;
    *timestamp = 0;
    return 0;
}

amdsmi_status_t amdsmi_get_gpu_device_bdf(amdsmi_processor_handle handle, uint64_t *bdf) {
    int index = (int)((struct gpu *)handle - gpus);
    /* domain 0, bus 0x03 + index, device 0, function 0 */
    *bdf = ((uint64_t)(0x03 + index) << 8);
    return 0;
}

amdsmi_status_t amdsmi_get_power_info(amdsmi_processor_handle handle, amdsmi_power_info_t *info) {
    struct gpu *g = handle;
    memset(info, 0, sizeof *info);
    info->current_socket_power = g->current;
    info->average_socket_power = g->average;
    info->socket_power = g->current;
    return 0;
}
