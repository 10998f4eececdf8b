import { describe, expect, it } from 'vitest';
import { LOGIN_BODY, LOGOUT_BODY, authBodySchema, readAuthBody } from '../../src/erp/auth/auth-fields.js';
import { InputReader } from '../../src/erp/input/input-reader.js';
import { ValidationError } from '../../src/errors.js';

function fieldsOf(fn: () => unknown): Record<string, string> {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.fields;
    throw err;
  }
  return {};
}

describe('auth bodies', () => {
  it('reads a login: the email trimmed, the password exactly as sent', () => {
    expect(readAuthBody(new InputReader({ email: ' a@b.c ', password: ' secret ' }), LOGIN_BODY, 'bad')).toEqual({
      email: 'a@b.c',
      password: ' secret ',
    });
  });

  it('names every bad field at once, unknown fields too', () => {
    expect(fieldsOf(() => readAuthBody(new InputReader({ password: 42, role: 'admin' }), LOGIN_BODY, 'bad'))).toEqual({
      email: 'required',
      password: 'must be a string of 1-1024 characters',
      role: 'unknown field',
    });
    expect(fieldsOf(() => readAuthBody(new InputReader({ email: 'a@b.c', password: 'x'.repeat(1025) }), LOGIN_BODY, 'bad'))).toEqual({
      password: 'must be a string of 1-1024 characters',
    });
    expect(fieldsOf(() => readAuthBody(new InputReader([]), LOGIN_BODY, 'bad'))).toMatchObject({ body: 'must be a JSON object' });
  });

  it('reads optional fields as undefined and booleans strictly', () => {
    expect(readAuthBody(new InputReader({ all: true }), LOGOUT_BODY, 'bad')).toEqual({ refreshToken: undefined, all: true });
    expect(fieldsOf(() => readAuthBody(new InputReader({ all: 'yes' }), LOGOUT_BODY, 'bad'))).toEqual({ all: 'must be true or false' });
  });

  it('documents the same fields it reads', () => {
    expect(authBodySchema(LOGIN_BODY)).toEqual({
      type: 'object',
      additionalProperties: false,
      required: ['email', 'password'],
      properties: {
        email: { type: 'string', minLength: 1, maxLength: 254, description: expect.any(String) },
        password: { type: 'string', minLength: 1, maxLength: 1024, writeOnly: true, description: expect.any(String) },
      },
    });
    expect(authBodySchema(LOGOUT_BODY)).not.toHaveProperty('required');
  });
});
