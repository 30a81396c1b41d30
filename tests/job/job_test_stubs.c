/* Stand-ins for the toolhead and heaters calls the job makes, for tests
 * whose printer has neither (printer.toolhead and printer.heaters are NULL,
 * so these never run). They are weak: when the engine library's real
 * toolhead or heaters object is linked in, its definitions win. */
#include "job/job_deps.h" /* the declarations these stand in for */

__attribute__((weak)) void fs_toolhead_wait_moves(struct fs_toolhead *th)
{
    (void)th;
}

__attribute__((weak)) void fs_heaters_turn_off_all(struct fs_heaters *h)
{
    (void)h;
}
