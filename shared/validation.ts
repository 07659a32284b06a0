// Turn zod issues into one line that names the field, for errors at every edge.
import type { z } from 'zod';

/** "field a.b: message; field c: message" (at most three issues, then "and N more"). */
export function formatZodIssues(error: z.ZodError, fieldPrefix = ''): string {
  const parts = error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.map(String).join('.');
    const field = fieldPrefix + path;
    return field ? `${field}: ${issue.message}` : issue.message;
  });
  const more = error.issues.length > 3 ? `; and ${error.issues.length - 3} more` : '';
  return parts.join('; ') + more;
}
