/*
 * A fake NVML for e2t's tests: exports the NVML functions e2t calls, with the signatures and struct layouts of
 * nvml.h, and answers from a script so the real interop code path (LibraryImport, marshalling, error handling) runs
 * without a GPU. Built by the test project with gcc into fake-nvml/libnvidia-ml.so.1 and loaded through
 * E2T_NVML_LIBRARY.
 *
 * The script is read at every nvmlInit_v2 from $FAKE_NVML_SCRIPT, else from fake-nvml.script beside this library.
 * One directive per line ('#' starts a comment):
 *   init CODE                 nvmlInit_v2 returns CODE (default 0)
 *   devices N                 number of GPUs (default 1, at most 8)
 *   name I TEXT               device name
 *   uuid I TEXT               device UUID
 *   energy I V1 V2 ...        total energy (mJ), one value per call, the last one repeated
 *   energy I rate WATTS       total energy grows at WATTS since nvmlInit_v2 (CLOCK_MONOTONIC)
 *   power I V1 V2 ...         power (mW) for nvmlDeviceGetPowerUsage and field 186, per call
 *   power I rate WATTS        constant power
 *   instant I 0               field 186 (instantaneous power) not supported
 *   limit I MILLIWATTS        enforced power limit (default 700000)
 *   mig I 1                   MIG mode enabled
 * In value lists, 'lost' answers NVML_ERROR_GPU_IS_LOST (15), 'ns' NVML_ERROR_NOT_SUPPORTED (3), 'eN' error N.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int nvmlReturn_t;
typedef struct fake_gpu *nvmlDevice_t;

typedef struct {
    unsigned int fieldId;
    unsigned int scopeId;
    long long timestamp;
    long long latencyUsec;
    int valueType;
    nvmlReturn_t nvmlReturn;
    unsigned long long value;
} nvmlFieldValue_t;

typedef struct {
    unsigned int gpu;
    unsigned int memory;
} nvmlUtilization_t;

#define MAX_GPUS 8
#define MAX_VALUES 256
#define CODE_BASE 1000000000000000000LL /* values at or above this are error codes */

typedef struct {
    long long values[MAX_VALUES];
    int count;
    int next;
    double rate; /* > 0: value = rate (W) x seconds since init, in mJ (energy) or constant mW (power) */
} sequence;

struct fake_gpu {
    char name[96];
    char uuid[96];
    sequence energy;
    sequence power;
    int no_instant;
    unsigned int limit;
    int mig;
};

static struct fake_gpu gpus[MAX_GPUS];
static int gpu_count = 1;
static int init_code = 0;
static int initialised = 0;
static struct timespec started;

static double seconds_since_start(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - started.tv_sec) + (now.tv_nsec - started.tv_nsec) / 1e9;
}

static void parse_values(sequence *s, char *rest) {
    s->count = 0;
    s->next = 0;
    s->rate = 0;
    char *token = strtok(rest, " \t\r\n");
    if (token && strcmp(token, "rate") == 0) {
        token = strtok(NULL, " \t\r\n");
        s->rate = token ? atof(token) : 0;
        return;
    }
    for (; token && s->count < MAX_VALUES; token = strtok(NULL, " \t\r\n")) {
        long long v;
        if (strcmp(token, "lost") == 0) v = CODE_BASE + 15;
        else if (strcmp(token, "ns") == 0) v = CODE_BASE + 3;
        else if (token[0] == 'e') v = CODE_BASE + atoll(token + 1);
        else v = atoll(token);
        s->values[s->count++] = v;
    }
}

/* Next value of a sequence; returns an NVML code (0 on success). */
static nvmlReturn_t next_value(sequence *s, int energy, unsigned long long *out) {
    if (s->rate > 0) {
        *out = energy ? (unsigned long long)(s->rate * seconds_since_start() * 1000.0) : (unsigned long long)(s->rate * 1000.0);
        return 0;
    }
    if (s->count == 0) return 3;
    long long v = s->values[s->next < s->count ? s->next : s->count - 1];
    if (s->next < s->count) s->next++;
    if (v >= CODE_BASE) return (nvmlReturn_t)(v - CODE_BASE);
    *out = (unsigned long long)v;
    return 0;
}

static void load_script(void) {
    memset(gpus, 0, sizeof gpus);
    gpu_count = 1;
    init_code = 0;
    for (int i = 0; i < MAX_GPUS; i++) {
        snprintf(gpus[i].name, sizeof gpus[i].name, "Fake GPU %d", i);
        snprintf(gpus[i].uuid, sizeof gpus[i].uuid, "GPU-fake-%04d", i);
        gpus[i].limit = 700000;
    }
    char path[4096];
    const char *env = getenv("FAKE_NVML_SCRIPT");
    if (env) {
        snprintf(path, sizeof path, "%s", env);
    } else {
        Dl_info info;
        if (!dladdr((void *)load_script, &info) || !info.dli_fname) return;
        snprintf(path, sizeof path, "%s", info.dli_fname);
        char *slash = strrchr(path, '/');
        if (slash) strcpy(slash + 1, "fake-nvml.script"); else strcpy(path, "fake-nvml.script");
    }
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char word[32];
        int index, used = 0;
        if (sscanf(line, "%31s%n", word, &used) != 1) continue;
        char *rest = line + used;
        if (strcmp(word, "init") == 0) { init_code = atoi(rest); continue; }
        if (strcmp(word, "devices") == 0) { gpu_count = atoi(rest); if (gpu_count > MAX_GPUS) gpu_count = MAX_GPUS; continue; }
        int more = 0;
        if (sscanf(rest, "%d%n", &index, &more) != 1 || index < 0 || index >= MAX_GPUS) continue;
        rest += more;
        while (*rest == ' ' || *rest == '\t') rest++;
        rest[strcspn(rest, "\r\n")] = 0;
        struct fake_gpu *g = &gpus[index];
        if (strcmp(word, "name") == 0) snprintf(g->name, sizeof g->name, "%s", rest);
        else if (strcmp(word, "uuid") == 0) snprintf(g->uuid, sizeof g->uuid, "%s", rest);
        else if (strcmp(word, "energy") == 0) parse_values(&g->energy, rest);
        else if (strcmp(word, "power") == 0) parse_values(&g->power, rest);
        else if (strcmp(word, "instant") == 0) g->no_instant = atoi(rest) == 0;
        else if (strcmp(word, "limit") == 0) g->limit = (unsigned int)atol(rest);
        else if (strcmp(word, "mig") == 0) g->mig = atoi(rest);
    }
    fclose(f);
}

nvmlReturn_t nvmlInit_v2(void) {
    load_script();
    if (init_code != 0) return init_code;
    clock_gettime(CLOCK_MONOTONIC, &started);
    initialised = 1;
    return 0;
}

nvmlReturn_t nvmlShutdown(void) { initialised = 0; return 0; }

const char *nvmlErrorString(nvmlReturn_t result) {
    switch (result) {
    case 0: return "Success";
    case 3: return "Not Supported";
    case 9: return "Driver Not Loaded";
    case 15: return "GPU is lost";
    default: return "Unknown Error";
    }
}

#define CHECK_DEVICE(d) do { if (!initialised) return 1; if (!(d)) return 2; } while (0)

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    if (!initialised) return 1;
    *count = (unsigned int)gpu_count;
    return 0;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (!initialised) return 1;
    if (index >= (unsigned int)gpu_count) return 2;
    *device = &gpus[index];
    return 0;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int length) {
    CHECK_DEVICE(d);
    snprintf(name, length, "%s", d->name);
    return 0;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned int length) {
    CHECK_DEVICE(d);
    snprintf(uuid, length, "%s", d->uuid);
    return 0;
}

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *energy) {
    CHECK_DEVICE(d);
    return next_value(&d->energy, 1, energy);
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *power) {
    CHECK_DEVICE(d);
    unsigned long long v = 0;
    nvmlReturn_t r = next_value(&d->power, 0, &v);
    *power = (unsigned int)v;
    return r;
}

nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t d, int count, nvmlFieldValue_t *values) {
    CHECK_DEVICE(d);
    for (int i = 0; i < count; i++) {
        nvmlFieldValue_t *f = &values[i];
        f->valueType = 1; /* unsigned int */
        f->timestamp = 0;
        f->latencyUsec = 0;
        if (f->fieldId == 186 && !d->no_instant) {
            unsigned long long v = 0;
            f->nvmlReturn = next_value(&d->power, 0, &v);
            f->value = v;
        } else if (f->fieldId == 185 && d->power.rate > 0) {
            f->nvmlReturn = 0;
            f->value = (unsigned long long)(d->power.rate * 1000.0);
        } else {
            f->nvmlReturn = 3;
        }
    }
    return 0;
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t d, unsigned int *limit) { CHECK_DEVICE(d); *limit = d->limit; return 0; }

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u) { CHECK_DEVICE(d); u->gpu = 87; u->memory = 41; return 0; }

nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t d, int type, unsigned int *clock) { CHECK_DEVICE(d); *clock = type == 1 ? 1980 : 2619; return 0; }

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned int *temp) { CHECK_DEVICE(d); (void)sensor; *temp = 45; return 0; }

nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t d, unsigned long long *reasons) { CHECK_DEVICE(d); *reasons = 0x4; return 0; }

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t d, unsigned int *current, unsigned int *pending) {
    CHECK_DEVICE(d);
    *current = (unsigned int)d->mig;
    *pending = (unsigned int)d->mig;
    return 0;
}
