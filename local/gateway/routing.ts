import type { MethodModel, ResourceNode } from '../model';

/**
 * Stage 1: routing. API Gateway picks the most specific resource for the path (a literal segment, then a
 * `{param}`, then a greedy `{proxy+}`) and its method, or ANY. No match is MISSING_AUTHENTICATION_TOKEN (403),
 * answered before any authorizer runs.
 */

export interface Route {
  readonly node: ResourceNode;
  readonly method: MethodModel;
  readonly pathParameters: Record<string, string>;
}

/** Finds the most specific resource for a path, then its method (or ANY). */
export function matchRoute(root: ResourceNode, path: string, httpMethod: string): Route | undefined {
  const segments = path.split('/').filter((s) => s.length > 0);
  const params: Record<string, string> = {};
  const find = (node: ResourceNode, i: number): ResourceNode | undefined => {
    if (i === segments.length) return node;
    const seg = segments[i];
    const literal = node.children.find((c) => c.pathPart === seg);
    if (literal) {
      const found = find(literal, i + 1);
      if (found) return found;
    }
    for (const c of node.children) {
      const m = /^\{([^}+]+)\}$/.exec(c.pathPart);
      if (!m) continue;
      const found = find(c, i + 1);
      if (found) {
        params[m[1]] = safeDecode(seg);
        return found;
      }
    }
    for (const c of node.children) {
      const m = /^\{([^}]+)\+\}$/.exec(c.pathPart);
      if (m) {
        params[m[1]] = segments.slice(i).map(safeDecode).join('/');
        return c;
      }
    }
    return undefined;
  };
  const node = find(root, 0);
  if (!node) return undefined;
  const method = node.methods.get(httpMethod) ?? node.methods.get('ANY');
  return method ? { node, method, pathParameters: params } : undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
