import type { Role } from "../../db/collections.ts";
import type { UserWithLinkedCustomers } from "../../db/users.ts";
import { ApiError } from "../../lib/errors.ts";
import type { AccessToken } from "./tokens.ts";

/** The user as login and change-password return it. */
export interface AuthUserView {
  id: string;
  email: string;
  phone: string | null;
  name: string | null;
  role: Role;
  /** The linked customer's id, only when the link holds both ways; otherwise null. */
  customer_v2_id: string | null;
  must_change_password: boolean;
}

/** Every call that signs someone in answers with this. */
export interface LoginResult extends AccessToken {
  refresh_token: string;
  refresh_expires_in: number;
  user: AuthUserView;
}

export function invalidCredentials(message = "The email/phone or password is incorrect."): ApiError {
  return new ApiError(401, "invalid_credentials", message);
}

export function authUserView(
  user: Pick<UserWithLinkedCustomers, "id" | "email" | "phone" | "name" | "role" | "must_change_password">,
  linkedCustomerId: string | null,
): AuthUserView {
  return {
    id: user.id,
    email: user.email,
    phone: user.phone ?? null,
    name: user.name ?? null,
    role: user.role,
    customer_v2_id: linkedCustomerId,
    must_change_password: user.must_change_password === true,
  };
}
