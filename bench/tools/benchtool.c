// benchtool: the two measurements wrk cannot make, for bench/run.sh. Plain C, no dependencies.
//
//   benchtool stream HOST PORT COUNT BODY_FILE MODEL [HEADER...]
//     One keep-alive connection, COUNT streaming chat requests in series. For each: time to the
//     first response byte, to the end of the first and second SSE events, and to the last chunk.
//     Prints one line "STREAM n=.. ttfb_p50_us=.. first_event_p50_us=.. gap12_p50_us=.. ...".
//
//   benchtool hold HOST PORT COUNT SECONDS BODY_FILE MODEL [HEADER...]
//     Opens COUNT connections, sends one chat request on each and reads the answer, prints
//     "HOLD_READY ...", keeps them all idle for SECONDS, then sends a second request on every one
//     and prints "HOLD_FINAL ok=.. failed=..": a connection the server refused, reset or closed
//     while idle shows up as failed.
//
// Every socket operation has a 10 s timeout, so the tool always ends.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { kIoTimeoutSec = 10 };

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static char* read_file(const char* path) {
  FILE* f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char* text = malloc((size_t)size + 1);
  if (fread(text, 1, (size_t)size, f) != (size_t)size) {
    perror(path);
    exit(2);
  }
  text[size] = 0;
  fclose(f);
  while (size > 0 && (text[size - 1] == '\n' || text[size - 1] == ' ')) text[--size] = 0;
  return text;
}

// The fixture with "model" filled in and, for streams, "stream": true in front.
static char* make_body(const char* fixture, const char* model, int stream) {
  const char* marker = "MODEL_PLACEHOLDER";
  const char* at = strstr(fixture, marker);
  if (!at || fixture[0] != '{') {
    fprintf(stderr, "body fixture must be a JSON object containing %s\n", marker);
    exit(2);
  }
  size_t size = strlen(fixture) + strlen(model) + 32;
  char* body = malloc(size);
  snprintf(body, size, "{%s%.*s%s%s", stream ? "\"stream\":true," : "", (int)(at - fixture - 1),
           fixture + 1, model, at + strlen(marker));
  return body;
}

static char* make_request(const char* host, int port, const char* body, char** headers,
                          int header_count, size_t* length) {
  size_t size = strlen(body) + 4096;
  for (int i = 0; i < header_count; ++i) size += strlen(headers[i]) + 2;
  char* text = malloc(size);
  int n = snprintf(text, size,
                   "POST /v1/chat/completions HTTP/1.1\r\nHost: %s:%d\r\n"
                   "Content-Type: application/json\r\nAuthorization: Bearer sk-bench-unused\r\n"
                   "Content-Length: %zu\r\n",
                   host, port, strlen(body));
  for (int i = 0; i < header_count; ++i) n += snprintf(text + n, size - n, "%s\r\n", headers[i]);
  n += snprintf(text + n, size - n, "\r\n%s", body);
  *length = (size_t)n;
  return text;
}

static int connect_to(const char* host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct timeval tv = {kIoTimeoutSec, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1 ||
      connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int send_all(int fd, const char* data, size_t length) {
  while (length > 0) {
    ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
    if (n <= 0) return -1;
    data += n;
    length -= (size_t)n;
  }
  return 0;
}

// One HTTP/1.1 response read incrementally: head, then a body framed by Content-Length or
// chunked encoding. SSE events are counted on the decoded body (an event ends with "\n\n"), so
// an event split across reads or chunks is still seen once, when its last byte arrives.
struct Response {
  char head[16384];
  size_t head_len;
  int head_done;
  int status;
  int chunked;
  long content_left;   // Content-Length framing: bytes still to come
  long chunk_left;     // chunked framing: bytes left in the current chunk (-1: reading a size)
  char size_line[64];
  size_t size_line_len;
  int after_chunk_crlf;  // bytes of the CRLF after a chunk's data still to skip
  int last_chunk;        // saw the 0-size chunk; waiting for the final CRLF
  int done;
  char tail[2];          // last two decoded body bytes, to spot "\n\n" across reads
  int events;
  double t_first_byte, t_event[2];
};

static void on_body_bytes(struct Response* r, const char* data, size_t n, double t) {
  for (size_t i = 0; i < n; ++i) {
    r->tail[0] = r->tail[1];
    r->tail[1] = data[i];
    if (r->tail[0] == '\n' && r->tail[1] == '\n') {
      if (r->events < 2) r->t_event[r->events] = t;
      ++r->events;
    }
  }
}

static void parse_head(struct Response* r) {
  r->status = atoi(r->head + 9);
  r->content_left = 0;
  for (char* line = strstr(r->head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
    const char* name = line + 2;
    if (strncasecmp(name, "content-length:", 15) == 0) r->content_left = atol(name + 15);
    if (strncasecmp(name, "transfer-encoding:", 18) == 0 && strcasestr(name, "chunked") &&
        strcasestr(name, "chunked") < strstr(name, "\r\n")) {
      r->chunked = 1;
    }
  }
  r->chunk_left = -1;
}

// Feeds received bytes; returns how many were used (the rest belongs to nothing: we never
// pipeline, so it would be a protocol error and is ignored).
static void feed(struct Response* r, const char* data, size_t n, double t) {
  size_t i = 0;
  while (i < n && !r->done) {
    if (!r->head_done) {
      if (r->head_len + 1 >= sizeof r->head) {
        r->done = -1;
        return;
      }
      r->head[r->head_len++] = data[i++];
      r->head[r->head_len] = 0;
      if (r->head_len >= 4 && memcmp(r->head + r->head_len - 4, "\r\n\r\n", 4) == 0) {
        r->head_done = 1;
        parse_head(r);
        if (!r->chunked && r->content_left == 0) r->done = 1;
      }
      continue;
    }
    if (!r->chunked) {
      size_t take = n - i < (size_t)r->content_left ? n - i : (size_t)r->content_left;
      on_body_bytes(r, data + i, take, t);
      i += take;
      r->content_left -= (long)take;
      if (r->content_left == 0) r->done = 1;
      continue;
    }
    if (r->after_chunk_crlf > 0) {
      --r->after_chunk_crlf;
      ++i;
      continue;
    }
    if (r->chunk_left < 0) {  // reading "HEX[;ext]\r\n"
      char c = data[i++];
      if (r->size_line_len + 1 < sizeof r->size_line) r->size_line[r->size_line_len++] = c;
      if (c == '\n') {
        r->size_line[r->size_line_len] = 0;
        r->size_line_len = 0;
        long size = strtol(r->size_line, NULL, 16);
        if (r->last_chunk) {  // the CRLF ending the trailer section
          r->done = 1;
        } else if (size == 0) {
          r->last_chunk = 1;  // the next line (empty, no trailers) ends the response
        } else {
          r->chunk_left = size;
        }
      }
      continue;
    }
    size_t take = n - i < (size_t)r->chunk_left ? n - i : (size_t)r->chunk_left;
    on_body_bytes(r, data + i, take, t);
    i += take;
    r->chunk_left -= (long)take;
    if (r->chunk_left == 0) {
      r->chunk_left = -1;
      r->after_chunk_crlf = 2;
    }
  }
}

// Sends the request and reads one whole response; returns 0 on success.
static int exchange(int fd, const char* request, size_t length, struct Response* r, double* t0) {
  memset(r, 0, sizeof *r);
  *t0 = now_us();
  if (send_all(fd, request, length) != 0) return -1;
  char buffer[65536];
  while (!r->done) {
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    double t = now_us();
    if (n <= 0) return -1;
    if (r->t_first_byte == 0) r->t_first_byte = t;
    feed(r, buffer, (size_t)n, t);
  }
  return r->done == 1 ? 0 : -1;
}

static int compare_doubles(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static double percentile(double* values, int n, double p) {
  if (n == 0) return 0;
  qsort(values, (size_t)n, sizeof *values, compare_doubles);
  int index = (int)(p / 100.0 * (n - 1) + 0.5);
  return values[index];
}

static int run_stream(int argc, char** argv) {
  if (argc < 7) return 2;
  const char* host = argv[2];
  int port = atoi(argv[3]);
  int count = atoi(argv[4]);
  char* body = make_body(read_file(argv[5]), argv[6], 1);
  size_t length;
  char* request = make_request(host, port, body, argv + 7, argc - 7, &length);
  double* ttfb = calloc((size_t)count, sizeof(double));
  double* first = calloc((size_t)count, sizeof(double));
  double* gap = calloc((size_t)count, sizeof(double));
  double* total = calloc((size_t)count, sizeof(double));
  int fd = connect_to(host, port);
  if (fd < 0) {
    fprintf(stderr, "benchtool stream: cannot connect to %s:%d\n", host, port);
    return 1;
  }
  int ok = 0, events = 0;
  for (int i = 0; i < count; ++i) {
    struct Response r;
    double t0;
    if (exchange(fd, request, length, &r, &t0) != 0 || r.status != 200 || r.events < 2) {
      fprintf(stderr, "benchtool stream: request %d failed (status %d, %d events)\n", i, r.status,
              r.events);
      return 1;
    }
    ttfb[ok] = r.t_first_byte - t0;
    first[ok] = r.t_event[0] - t0;
    gap[ok] = r.t_event[1] - r.t_event[0];
    total[ok] = now_us() - t0;
    events = r.events;
    ++ok;
  }
  close(fd);
  printf("STREAM n=%d events=%d ttfb_p50_us=%.0f ttfb_p99_us=%.0f first_event_p50_us=%.0f "
         "first_event_p99_us=%.0f gap12_p50_us=%.0f gap12_min_us=%.0f total_p50_us=%.0f "
         "total_p99_us=%.0f\n",
         ok, events, percentile(ttfb, ok, 50), percentile(ttfb, ok, 99),
         percentile(first, ok, 50), percentile(first, ok, 99), percentile(gap, ok, 50),
         percentile(gap, ok, 0), percentile(total, ok, 50), percentile(total, ok, 99));
  return 0;
}

static int run_hold(int argc, char** argv) {
  if (argc < 8) return 2;
  const char* host = argv[2];
  int port = atoi(argv[3]);
  int count = atoi(argv[4]);
  int seconds = atoi(argv[5]);
  char* body = make_body(read_file(argv[6]), argv[7], 0);
  size_t length;
  char* request = make_request(host, port, body, argv + 8, argc - 8, &length);
  int* fds = calloc((size_t)count, sizeof(int));
  int connected = 0, answered = 0, refused = 0;
  double start = now_us();
  for (int i = 0; i < count; ++i) {
    fds[i] = connect_to(host, port);
    if (fds[i] < 0) {
      ++refused;
      continue;
    }
    ++connected;
    struct Response r;
    double t0;
    if (exchange(fds[i], request, length, &r, &t0) == 0 && r.status == 200) {
      ++answered;
    } else {
      ++refused;
      close(fds[i]);
      fds[i] = -1;
    }
  }
  printf("HOLD_READY connections=%d connected=%d answered=%d refused=%d open_ms=%.0f\n", count,
         connected, answered, refused, (now_us() - start) / 1000);
  fflush(stdout);
  sleep((unsigned)seconds);
  int ok = 0, failed = 0;
  for (int i = 0; i < count; ++i) {
    if (fds[i] < 0) {
      ++failed;
      continue;
    }
    struct Response r;
    double t0;
    if (exchange(fds[i], request, length, &r, &t0) == 0 && r.status == 200) {
      ++ok;
    } else {
      ++failed;
    }
    close(fds[i]);
  }
  printf("HOLD_FINAL connections=%d ok=%d failed=%d\n", count, ok, failed);
  return failed == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  int rc = 2;
  if (argc > 1 && strcmp(argv[1], "stream") == 0) rc = run_stream(argc, argv);
  if (argc > 1 && strcmp(argv[1], "hold") == 0) rc = run_hold(argc, argv);
  if (rc == 2) {
    fprintf(stderr,
            "usage: benchtool stream HOST PORT COUNT BODY_FILE MODEL [HEADER...]\n"
            "       benchtool hold HOST PORT COUNT SECONDS BODY_FILE MODEL [HEADER...]\n");
  }
  return rc;
}
