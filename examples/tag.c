/* Tags each command-line text with a model file made by `albertner convert`, through the C API.
 * Usage: albertner_example_tag_c MODEL TEXT...
 * Prints one line per entity: label, score, [byte start, byte end), the text of the span. */
#include <albertner/albertner.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  albertner_tagger* tagger = NULL;
  albertner_entity fixed[16];
  albertner_entity* entities = fixed;
  size_t capacity = sizeof fixed / sizeof fixed[0];
  int i, rc = 0;

  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL TEXT...\n", argv[0]);
    return 2;
  }
  if (albertner_open(argv[1], NULL, &tagger) != ALBERTNER_OK) {
    fprintf(stderr, "error: %s\n", albertner_last_error());
    return 1;
  }
  for (i = 2; i < argc && rc == 0; ++i) {
    const char* text = argv[i];
    size_t count = 0, k;
    albertner_status status = albertner_tag(tagger, text, strlen(text), entities, capacity, &count);
    if (status == ALBERTNER_ERR_BUFFER_TOO_SMALL) { /* a long text: grow the buffer and ask again */
      albertner_entity* bigger = (albertner_entity*)malloc(count * sizeof *bigger);
      if (!bigger) {
        fprintf(stderr, "error: out of memory for %lu entities\n", (unsigned long)count);
        rc = 1;
        break;
      }
      if (entities != fixed) free(entities);
      entities = bigger;
      capacity = count;
      status = albertner_tag(tagger, text, strlen(text), entities, capacity, &count);
    }
    if (status != ALBERTNER_OK) {
      fprintf(stderr, "error: text %d: %s: %s\n", i - 1, albertner_status_name(status), albertner_last_error());
      rc = 1;
      break;
    }
    for (k = 0; k < count; ++k) {
      const albertner_entity* e = &entities[k];
      printf("%-5s %.3f [%lu, %lu) %.*s\n", e->label, (double)e->score, (unsigned long)e->byte_start,
             (unsigned long)e->byte_end, (int)(e->byte_end - e->byte_start), text + e->byte_start);
    }
  }
  if (entities != fixed) free(entities);
  albertner_close(tagger);
  return rc;
}
